/* The navigation of public pages: they are shared and cached, the same for everyone, so they carry the
   signed-out items (Sign in) and, hidden, the signed-in ones (Drafts, Sign out). While the browser holds the
   sign-in hint cookie (set at sign-in beside the session, dropped at sign-out; no secret), this shows the
   signed-in items instead. The write path's own pages are rendered for their reader and need no script. */
(function () {
  "use strict";
  var signedIn = document.cookie.split("; ").indexOf("ceopgraph_signed_in=1") !== -1;
  if (!signedIn) {
    return;
  }
  document.querySelectorAll("header.site [data-session]").forEach(function (item) {
    item.hidden = item.getAttribute("data-session") !== "in";
  });
})();

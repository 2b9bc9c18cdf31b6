/* The SPARQL query editor: YASGUI over this endpoint, loaded from our own origin (no CDN, no
   inline script). Without JavaScript the plain form on the page still runs queries.

   YASGUI's own markup misses a few accessibility basics (axe-core finds them in the browser tests);
   `repair` below adds what is missing, each fix commented with the rule it answers, and the colours
   are fixed in sparql.css. The notice under the query tells when the endpoint cut the answer. */
(function () {
  "use strict";
  var root = document.getElementById("yasgui");
  if (!root || typeof window.Yasgui === "undefined") {
    return;
  }
  var endpoint = new URL(root.getAttribute("data-endpoint"), window.location.href).href;
  // A browser that followed a link to a query (an example opened in a new tab, a shared URL) gets this page
  // with the query (and its dataset parameters) in data attributes: the editor shows it and runs it.
  var navigated = root.getAttribute("data-query");
  function graphs(name) {
    var value = root.getAttribute(name);
    return value ? JSON.parse(value) : [];
  }
  var examples = document.querySelectorAll("a.sparql-example");
  var form = document.querySelector("form.sparql-form");
  if (form) {
    form.hidden = true;
  }
  var yasgui = new window.Yasgui(root, {
    requestConfig: {
      endpoint: endpoint,
      method: "POST",
      defaultGraphs: graphs("data-default-graphs"),
      namedGraphs: graphs("data-named-graphs")
    },
    copyEndpointOnNewTab: false,
    // Nor does YASGUI focus the editor when it shows a tab (WCAG 2.4.3, 3.2.1): the person moves the focus.
    autofocus: false,
    persistenceId: null,
    populateFromUrl: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    yasqe: {
      value: navigated !== null ? navigated
        : examples.length ? examples[0].getAttribute("data-query") : "SELECT * WHERE { ?s ?p ?o } LIMIT 10",
      // No look-ups on third-party services (prefix.cc, LOV): the page talks to this origin only.
      prefixCcApi: null,
      // WCAG 2.4.3 / 3.2.1: the page does not move the focus into the editor on load (YASQE's default does,
      // which put the keyboard inside a text box that kept Tab, before anything else on the page).
      autofocus: false,
      autocompleters: ["variables"],
      persistenceId: null,
      // CodeMirror's own option: the aria-label of the hidden textarea that takes the typing (axe: label).
      screenReaderLabel: "SPARQL query"
    },
    yasr: { persistenceId: null }
  });
  window.ceopgraphYasgui = yasgui;

  // axe aria-required-children: YASGUI puts its "Add a new tab" button inside the role=tablist element,
  // where only tabs may be. Move it (its wrapper, with YASGUI's click handler) just after the tab list, and
  // clear YASGUI's reference to it so that new tabs are appended to the list instead of inserted before it.
  // This also keeps the list's arrow-key navigation on the tabs only. (`_tabsListEl` and `addTabEl` are
  // YASGUI 4.6.2's, pinned in package.json; the browser tests add a tab to check that this still works.)
  var tabList = yasgui.tabElements;
  var tabsEl = tabList && tabList._tabsListEl;
  var addTabEl = tabList && tabList.addTabEl;
  if (tabsEl && addTabEl && addTabEl.parentNode === tabsEl) {
    var bar = document.createElement("div");
    bar.className = "tabBar";
    tabsEl.parentNode.insertBefore(bar, tabsEl);
    bar.appendChild(tabsEl);
    bar.appendChild(addTabEl);
    tabList.addTabEl = undefined;
  }

  // Controls YASGUI leaves without an accessible name (axe: label, select-name), by selector.
  var NAMES = [
    [".autocompleteWrapper input.autocomplete", "SPARQL endpoint"],
    [".tabsList .tab input[type=text]", "Tab name"],
    [".yasr select.tableSizer", "Page size"],
    // Named "✖" by its text otherwise; YASGUI's title says what it does.
    [".controlbar .clearEndpointBtn", "Clear endpoint"]
  ];

  function repair() {
    NAMES.forEach(function (entry) {
      root.querySelectorAll(entry[0]).forEach(function (control) {
        if (!control.hasAttribute("aria-label")) {
          control.setAttribute("aria-label", entry[1]);
        }
      });
    });
    // The request settings menu: each <select> follows a <label> element that is not tied to it.
    root.querySelectorAll(".tabMenu .selector").forEach(function (selector) {
      var label = selector.querySelector(".selectorLabel");
      var select = selector.querySelector("select");
      if (label && select && !select.hasAttribute("aria-label")) {
        select.setAttribute("aria-label", "Accept header for " + label.textContent.trim() + " queries");
      }
    });
    // The settings menu's text fields (request arguments, headers, graphs) follow an unattached <label>.
    root.querySelectorAll(".tabMenu .textSetting").forEach(function (setting) {
      var label = setting.querySelector(".label");
      var name = label ? label.textContent.trim() : "Request setting";
      setting.querySelectorAll(".textRow").forEach(function (row) {
        row.querySelectorAll("input").forEach(function (input, index) {
          if (!input.hasAttribute("aria-label")) {
            input.setAttribute("aria-label", name + (index === 0 ? ": name" : ": value"));
          }
        });
      });
      setting.querySelectorAll(".graphInput input").forEach(function (input) {
        if (!input.hasAttribute("aria-label")) {
          input.setAttribute("aria-label", name + ": IRI");
        }
      });
    });
    // Two CodeMirror editors: the query (YASQE) and, in YASR's Response view, the raw answer (read-only).
    root.querySelectorAll(".CodeMirror").forEach(function (wrapper) {
      // WCAG 2.1.2 (no keyboard trap): CodeMirror's Tab inserts a tab and Shift+Tab re-indents, so the
      // keyboard could not leave the editor. A key bound to `false` is left to the browser: Tab and Shift+Tab
      // move the focus, as everywhere on the page; Ctrl+] and Ctrl+[ (CodeMirror's own) indent, as the page
      // says under the editor. `wrapper.CodeMirror` is CodeMirror 5's handle on its editor.
      var editor = wrapper.CodeMirror;
      if (editor && !editor.state.ceopgraphTabLeaves) {
        editor.addKeyMap({ Tab: false, "Shift-Tab": false });
        editor.state.ceopgraphTabLeaves = true;
      }
      var name = wrapper.closest(".yasr") ? "Query response" : "SPARQL query";
      // axe label: the hidden textarea that takes the keyboard has no name (the query's gets one from
      // screenReaderLabel above; YASR creates the response's editor without it).
      var input = wrapper.querySelector("textarea");
      if (input && !input.hasAttribute("aria-label")) {
        input.setAttribute("aria-label", name);
      }
      // axe scrollable-region-focusable: CodeMirror's scroller (tabindex=-1) scrolls, but a keyboard cannot
      // reach it (the textarea is outside it). tabindex=0 lets the keyboard scroll the text (arrow keys,
      // Page Down); a focusable element needs a role and a name (aria-label is not allowed on a bare div),
      // and regions need distinct names (axe landmark-unique).
      var scroller = wrapper.querySelector(".CodeMirror-scroll");
      if (scroller && scroller.getAttribute("tabindex") !== "0") {
        scroller.setAttribute("tabindex", "0");
        scroller.setAttribute("role", "region");
        scroller.setAttribute("aria-label", name + ", scrollable");
      }
    });
    // YASR marks the views (Table, Response) and the download button that cannot be used for the current
    // answer with a "disabled" class only: say it to assistive technology too (aria-disabled), which also
    // tells axe color-contrast that their greyed text is an inactive control's (WCAG 1.4.3 exempts those).
    root.querySelectorAll(".yasr .yasr_btn").forEach(function (button) {
      var off = button.classList.contains("disabled") ? "true" : "false";
      if (button.getAttribute("aria-disabled") !== off) {
        button.setAttribute("aria-disabled", off);
      }
    });
    // axe empty-table-header: the results table's first column (row numbers) has an empty header.
    root.querySelectorAll(".yasr table thead th .dt-column-title").forEach(function (title) {
      if (!title.textContent.trim()) {
        var text = document.createElement("span");
        text.className = "visually-hidden";
        text.textContent = "Row";
        title.appendChild(text);
      }
    });
  }
  repair();
  // YASGUI redraws its parts (results, tabs, menus) as people use it, and toggles classes: repair what each
  // change brings. Only added nodes and class changes are watched; repair changes no class and adds a node
  // only where one is missing, so its own changes settle after one more pass.
  new MutationObserver(repair).observe(root, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["class"]
  });

  // Truncated answers: the endpoint sends X-SPARQL-MaxRows when it stopped at its row limit. The notice sits
  // above the results of the tab that ran the query, in a status region so that screen readers announce it.
  var watched = new WeakSet();

  function noticeFor(tab) {
    var yasr = tab.getYasr();
    if (!yasr || !yasr.rootEl || !yasr.rootEl.parentNode) {
      return null;
    }
    var notice = yasr.rootEl.previousElementSibling;
    if (!notice || !notice.classList.contains("sparql-notice")) {
      notice = document.createElement("p");
      notice.className = "sparql-notice";
      notice.setAttribute("role", "status");
      yasr.rootEl.parentNode.insertBefore(notice, yasr.rootEl);
    }
    return notice;
  }

  function showLimit(tab, response) {
    var notice = noticeFor(tab);
    if (!notice) {
      return;
    }
    var limit = response && response.headers && typeof response.headers.get === "function"
      ? response.headers.get("X-SPARQL-MaxRows")
      : null;
    notice.textContent = limit
      ? "Only the first " + limit + " results are shown: this endpoint returns at most " + limit +
        " per query. To see the rest, add ORDER BY, LIMIT and OFFSET and run the query a page at a time."
      : "";
  }

  function watch(tab) {
    var yasqe = tab && tab.getYasqe();
    if (!yasqe || watched.has(yasqe)) {
      return;
    }
    watched.add(yasqe);
    // Listeners run in the order they were added: YASGUI's own, which draws the results, runs first.
    yasqe.on("queryResponse", function (instance, response) {
      showLimit(tab, response);
    });
  }
  // Before every query, so the listener is in place before the answer arrives (a tab's editor is created
  // when the tab is first shown, hence not at start-up for every tab).
  yasgui.on("queryBefore", function (instance, tab) {
    watch(tab);
    var notice = noticeFor(tab);
    if (notice) {
      notice.textContent = "";
    }
  });

  examples.forEach(function (link) {
    link.addEventListener("click", function (event) {
      // A click with a modifier (or not the main button) opens the link as the person asked, in a new tab or
      // window: that navigation gets this page with the query, which runs it (see `navigated` above).
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
        return;
      }
      event.preventDefault();
      var tab = yasgui.getTab();
      tab.setQuery(link.getAttribute("data-query"));
      tab.getYasqe().query();
    });
  });

  if (navigated !== null) {
    yasgui.getTab().getYasqe().query();
  }
})();

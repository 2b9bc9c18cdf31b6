"""The Flask front end. ``app.create_app`` builds an app; ``services`` holds what it holds; one blueprint
per concern (``site``, ``sparql``, ``resources``, ``validation``), each reaching the app's services through
``services.current()``; ``pages`` builds the HTML pages' content. Nothing is imported here, so that a
blueprint importing a sibling module never runs the module that creates the app."""

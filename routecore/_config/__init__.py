"""Configuration: ``sources`` reads files, folders, text and dicts into raw objects; ``parse``
validates them into the attrs ``models``; ``load`` ties them together (``routecore.load``);
``regex`` is the RE2 layer both validation and compilation use."""

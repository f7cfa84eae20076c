"""The classroom demo: the market a class watches (``market``) and its page in the browser (``page``)."""

"""The `scrape` command: one thin module per command group (parse arguments, call a
function in the layers below, print)."""

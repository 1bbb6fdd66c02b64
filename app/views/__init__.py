"""One module per tab: each has ``render(run)`` drawing its view from an :class:`app.compute.Run`."""

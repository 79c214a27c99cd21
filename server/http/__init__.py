"""HTTP transport below the handlers: requests in flight, and long-polls answered without their
request handler (``parking``), which write HTTP/1.1 themselves and hand connections back to the
``HTTPServer``. The job engine never imports this package."""

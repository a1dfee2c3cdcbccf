"""Range-capable COG HTTP server fixture with fault injection: being written."""

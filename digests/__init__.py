"""Weekly digests: collect (I/O) → build (pure, `now` passed in) → render (jinja2) → send."""

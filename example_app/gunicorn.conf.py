"""gunicorn's settings for the example tool server.

Run it with ``gunicorn -c example_app/gunicorn.conf.py -w 2 'example_app:create_app()'``; options
on the command line win over these. Two of gunicorn's defaults work against an OTC server:

- ``limit_request_field_size`` is 8190 bytes: a header longer than that gets gunicorn's own
  HTML ``431 Request Header Fields Too Large`` before the app is asked, so a client sending an
  oversized token never learns why in the JSON the protocol promises. The extension refuses
  tokens over 8 KiB itself, with its ``401 invalid_token`` ("The credential is longer than 8192
  characters"). 32 KiB lets such a token (a 20 KB one, say) reach it, and still bounds what a
  worker reads per header: beyond it, gunicorn's 431 stays.
- ``access_log_format`` writes ``%(r)s``, the request line with its query string: a client that
  sends ``?access_token=...`` (which the extension ignores: a token belongs in the
  ``Authorization`` header) has its token written to the access log in clear. This format
  writes the path alone (``%(U)s``), and no referrer, which may be another URL with a token.

The access log goes to stdout, the error log (with the app's one line per refusal and per tool
request, ``EXAMPLE_LOG_REQUESTS``) to stderr.
"""

from __future__ import annotations

# The request line keeps gunicorn's 4094 bytes: no credential belongs in it.
limit_request_field_size = 32 * 1024
accesslog = "-"
errorlog = "-"
loglevel = "info"
# Common Log Format, with the path instead of the request line, and the duration.
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'

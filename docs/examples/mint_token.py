"""Print a JWT the quickstart server accepts: HS256, ``aud`` an allowed client, 5 minutes.

An agent platform does this on its side with the shared secret; run it by hand to try the
server: ``TOKEN=$(python mint_token.py)``.
"""

from __future__ import annotations

import os
import time

import jwt

now = int(time.time())
claims = {"sub": "my-agent", "aud": "my-agent-platform", "iat": now, "exp": now + 300}
print(jwt.encode(claims, os.environ["OTC_AUTH_JWT_SECRET"], algorithm="HS256"))

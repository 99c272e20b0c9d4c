"""Benchmark: issuing and verifying access tokens (the work every request does). Prints figures."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from api.auth.keys import KeyRing, generate_signing_key
from api.auth.tokens import decode_access_token, issue_access_token

N = 2000


def main() -> None:
    keys = KeyRing([generate_signing_key(), generate_signing_key()])
    now = datetime.now(UTC)
    started = time.perf_counter()
    tokens = [
        issue_access_token(
            keys,
            issuer="doorstep",
            audience="doorstep-api",
            subject=str(i),
            tenant="0363",
            token_type="staff",
            now=now,
            ttl=timedelta(minutes=15),
        )
        for i in range(N)
    ]
    issued = time.perf_counter() - started
    started = time.perf_counter()
    for token in tokens:
        decode_access_token(keys, token, issuer="doorstep", audience="doorstep-api", now=now)
    verified = time.perf_counter() - started
    print(f"tokens: {N}")
    print(f"issue:  {N / issued:,.0f} tokens/s ({issued / N * 1e6:,.0f} µs each)")
    print(f"verify: {N / verified:,.0f} tokens/s ({verified / N * 1e6:,.0f} µs each)")
    print(f"ratio verify/issue time: {verified / issued:.2f}")
    print(f"token size: {len(tokens[0])} bytes")


if __name__ == "__main__":
    main()

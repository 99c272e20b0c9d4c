"""`python -m bkr_double --port 8100`: run the BKR test double."""

from __future__ import annotations

import argparse

import uvicorn

from bkr_double.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="BKR test double")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

"""Turns trial's closing line into "N passed, N failed[, N skipped]" and the exit status.

trial ends with "PASSED (successes=N, skips=N)" or "FAILED (failures=N, errors=N, ...)".
Errors and unexpected successes count as failures. Without that line (trial never got to run
its tests), the run counts as one failure.
"""

import re
import sys

SUMMARY = re.compile(r"^(PASSED|FAILED) \((.*)\)\s*$")


def main(log_path: str, status: int) -> int:
    verdict, counts = None, {}
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            match = SUMMARY.match(line)
            if match:
                verdict = match.group(1)
                counts = {k.strip(): int(v) for k, v in
                          (item.split("=") for item in match.group(2).split(",") if "=" in item)}
    if verdict is None:
        print("0 passed, 1 failed")
        return status or 1
    passed = counts.get("successes", 0) + counts.get("expectedFailures", 0)
    failed = counts.get("failures", 0) + counts.get("errors", 0) + counts.get("unexpectedSuccesses", 0)
    skipped = counts.get("skips", 0)
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    if failed or verdict != "PASSED":
        return status or 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))

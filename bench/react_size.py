"""Size of the React package's built JS (`clients/react/dist/index.js`, React left out as
a peer dependency), raw and gzipped (level 9), against the 15 kB gzipped target; the
optional stylesheet beside it."""

from __future__ import annotations

import gzip
import subprocess
import sys

from bench.common import ROOT, table, write_result

PACKAGE = ROOT / "clients" / "react"
TARGET_GZIP_KB = 15.0


def main() -> int:
    if not (PACKAGE / "node_modules" / ".bin" / "vite").exists():
        print("clients/react has no node_modules: run `make test-deps` (npm ci) first")
        return 1
    built = subprocess.run(["npm", "run", "build"], cwd=PACKAGE, capture_output=True, text=True)
    if built.returncode:
        print(built.stdout + built.stderr)
        return 1
    rows = []
    ok = True
    for name in ("index.js", "styles.css"):
        data = (PACKAGE / "dist" / name).read_bytes()
        gzipped_kb = len(gzip.compress(data, compresslevel=9)) / 1000
        target = f"< {TARGET_GZIP_KB:.0f} kB" if name.endswith(".js") else "–"
        if name.endswith(".js"):
            ok = gzipped_kb < TARGET_GZIP_KB
        rows.append(
            [f"`dist/{name}`", f"{len(data) / 1000:.1f} kB", f"{gzipped_kb:.2f} kB", target]
        )
    write_result("react_size", table(["file", "raw", "gzipped", "target (gzipped)"], rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Baseline for `npm run bench:ingest`: a plain Pillow loop doing what ingest does per image
(read, sha256, decode, format and size check), single process. Prints JSON."""
import hashlib
import io
import json
import sys
import time

from PIL import Image

MAX_PIXELS = 50_000_000


def check(path: str) -> bool:
    with open(path, "rb") as f:
        data = f.read()
    hashlib.sha256(data).hexdigest()
    img = Image.open(io.BytesIO(data))
    if img.format not in ("JPEG", "PNG", "WEBP", "GIF", "TIFF"):
        return False
    if img.width * img.height > MAX_PIXELS:
        return False
    img.load()  # full decode: raises on truncated or corrupt data
    return True


def main() -> None:
    files = [line.strip() for line in open(sys.argv[1]) if line.strip()]
    start = time.perf_counter()
    ok = sum(1 for f in files if check(f))
    secs = time.perf_counter() - start
    print(json.dumps({"images": len(files), "accepted": ok, "seconds": secs, "imagesPerSecond": len(files) / secs}))


if __name__ == "__main__":
    main()

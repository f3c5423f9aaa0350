"""Draw static/favicon.ico (16, 32 and 48 px) from the same design as static/favicon.svg.

Browsers and tools that ask for /favicon.ico without reading the page's <link rel="icon"> get this
file. Pure Python (no image library): run it again only if the design changes.
"""

import math
import struct
from pathlib import Path

BLUE = (0x1D, 0x4E, 0xD8)
WHITE = (0xFF, 0xFF, 0xFF)
# favicon.svg on a 32-unit square: a rounded square (rx 6) and a "C" stroke (r 8, width 4, round caps)
# from (22, 10.5) round the left to (22, 21.5).
CX, CY = 22 - math.sqrt(8**2 - 5.5**2), 16.0
GAP = math.atan2(5.5, 22 - CX)
ENDS = ((22.0, 10.5), (22.0, 21.5))


def _colour(x: float, y: float):
    """The design's colour at a point in 32-unit space, or None outside the rounded square."""
    r = 6
    dx = max(r - x, 0, x - (32 - r))
    dy = max(r - y, 0, y - (32 - r))
    if dx * dx + dy * dy > r * r:
        return None
    dist = math.hypot(x - CX, y - CY)
    angle = abs(math.atan2(y - CY, x - CX))
    on_arc = abs(dist - 8) <= 2 and angle >= GAP
    on_cap = any(math.hypot(x - ex, y - ey) <= 2 for ex, ey in ENDS)
    return WHITE if on_arc or on_cap else BLUE


def _pixels(size: int, samples: int = 4) -> list[tuple[int, int, int, int]]:
    """Row-major BGRA pixels, top row first, anti-aliased by supersampling."""
    out = []
    for py in range(size):
        for px in range(size):
            acc, hits = [0, 0, 0], 0
            for sy in range(samples):
                for sx in range(samples):
                    c = _colour((px + (sx + 0.5) / samples) * 32 / size, (py + (sy + 0.5) / samples) * 32 / size)
                    if c:
                        hits += 1
                        acc = [a + v for a, v in zip(acc, c, strict=True)]
            if hits:
                r, g, b = (round(a / hits) for a in acc)
                out.append((b, g, r, round(255 * hits / samples**2)))
            else:
                out.append((0, 0, 0, 0))
    return out


def _dib(size: int) -> bytes:
    pixels = _pixels(size)
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    rows = [pixels[y * size : (y + 1) * size] for y in reversed(range(size))]  # BMP: bottom row first
    colour = b"".join(bytes(p) for row in rows for p in row)
    mask_row = ((size + 31) // 32) * 4  # the AND mask is unused with alpha, but must be there
    return header + colour + bytes(mask_row * size)


def main() -> None:
    sizes = (16, 32, 48)
    images = [_dib(s) for s in sizes]
    offset = 6 + 16 * len(sizes)
    directory = b""
    for size, image in zip(sizes, images, strict=True):
        directory += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    target = Path(__file__).resolve().parent.parent / "static" / "favicon.ico"
    target.write_bytes(struct.pack("<HHH", 0, 1, len(sizes)) + directory + b"".join(images))
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

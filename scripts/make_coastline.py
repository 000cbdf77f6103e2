#!/usr/bin/env python3
"""Builds the map page's land layer, src/api/assets/land.json, from Natural Earth.

Natural Earth's land polygons are public domain; the npm package `world-atlas` (ISC licence,
Copyright 2013-2019 Michael Bostock) ships them as TopoJSON. This script takes that package
from the npm registry (`npm pack`), decodes the chosen scale, clips it to the region around the
designated ports, rounds coordinates and writes a compact GeoJSON FeatureCollection that the
binary bundles. Run it again only to change the region or the scale:

    python3 scripts/make_coastline.py                        # defaults below
    python3 scripts/make_coastline.py --scale 50m --south 38 --north 46 --west 127 --east 139
    python3 scripts/make_coastline.py --topojson /path/to/land-10m.json   # no npm needed

Standard library only.
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "src", "api", "assets", "land.json")
PACKAGE = "world-atlas@2.0.2"
ISC_NOTICE = (
    "world-atlas: Copyright 2013-2019 Michael Bostock. Permission to use, copy, modify, "
    "and/or distribute this software for any purpose with or without fee is hereby granted, "
    "provided that the above copyright notice and this permission notice appear in all copies. "
    "THE SOFTWARE IS PROVIDED \"AS IS\" AND THE AUTHOR DISCLAIMS ALL WARRANTIES."
)


def fetch_topojson(scale):
    """Downloads world-atlas with npm into a temporary folder and returns land-<scale>.json."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", PACKAGE, "--silent"], cwd=tmp, check=True, stdout=subprocess.PIPE
        )
        tarballs = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        if len(tarballs) != 1:
            sys.exit(f"npm pack {PACKAGE} left {tarballs!r} in {tmp}, expected one tarball")
        with tarfile.open(os.path.join(tmp, tarballs[0])) as tar:
            member = tar.extractfile(f"package/land-{scale}.json")
            if member is None:
                sys.exit(f"{PACKAGE} has no land-{scale}.json")
            return json.load(member)


def decode_arcs(topology):
    """Absolute lon/lat coordinates of every arc (quantized, delta-encoded in the file)."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for dx, dy in arc:
                x += dx
                y += dy
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [tuple(p) for p in arc]
        arcs.append(points)
    return arcs


def ring_of(indices, arcs):
    """Joins a ring's arcs; a negative index ~i means arc i reversed. Shared ends are dropped."""
    ring = []
    for index in indices:
        points = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        ring.extend(points[1:] if ring else points)
    return ring


def polygons_of(geometry, arcs):
    kind = geometry.get("type")
    if kind == "Polygon":
        return [[ring_of(r, arcs) for r in geometry["arcs"]]]
    if kind == "MultiPolygon":
        return [[ring_of(r, arcs) for r in polygon] for polygon in geometry["arcs"]]
    if kind == "GeometryCollection":
        return [p for g in geometry["geometries"] for p in polygons_of(g, arcs)]
    return []


def clip_ring(ring, west, south, east, north):
    """Sutherland-Hodgman against the four edges of the box. The result can run along the
    box's edges; that is harmless for a filled land layer."""
    edges = [
        (lambda p: p[0] >= west, lambda a, b: cut_x(a, b, west)),
        (lambda p: p[0] <= east, lambda a, b: cut_x(a, b, east)),
        (lambda p: p[1] >= south, lambda a, b: cut_y(a, b, south)),
        (lambda p: p[1] <= north, lambda a, b: cut_y(a, b, north)),
    ]
    points = ring
    for inside, cut in edges:
        if not points:
            break
        clipped = []
        previous = points[-1]
        for current in points:
            if inside(current):
                if not inside(previous):
                    clipped.append(cut(previous, current))
                clipped.append(current)
            elif inside(previous):
                clipped.append(cut(previous, current))
            previous = current
        points = clipped
    return points


def cut_x(a, b, x):
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def cut_y(a, b, y):
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def simplify(points, tolerance):
    """Douglas-Peucker on an open polyline (degrees)."""
    if len(points) < 3 or tolerance <= 0:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        dx, dy = bx - ax, by - ay
        norm = (dx * dx + dy * dy) ** 0.5
        worst, worst_at = 0.0, None
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                d = ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            else:
                d = abs(dy * px - dx * py + bx * ay - by * ax) / norm
            if d > worst:
                worst, worst_at = d, i
        if worst_at is not None and worst > tolerance:
            keep[worst_at] = True
            stack.append((first, worst_at))
            stack.append((worst_at, last))
    return [p for p, k in zip(points, keep) if k]


def tidy_ring(ring, decimals, tolerance):
    ring = simplify(ring, tolerance)
    rounded = []
    for x, y in ring:
        point = [round(x, decimals), round(y, decimals)]
        if not rounded or rounded[-1] != point:
            rounded.append(point)
    if len(rounded) >= 2 and rounded[0] == rounded[-1]:
        rounded.pop()
    if len(rounded) < 3:
        return None
    rounded.append(list(rounded[0]))
    return rounded


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["10m", "50m", "110m"], default="10m")
    parser.add_argument("--topojson", help="use this land-*.json instead of fetching with npm")
    parser.add_argument("--south", type=float, default=30.0)
    parser.add_argument("--north", type=float, default=50.0)
    parser.add_argument("--west", type=float, default=125.0)
    parser.add_argument("--east", type=float, default=145.0)
    parser.add_argument("--decimals", type=int, default=3, help="coordinate rounding (3: ~100 m)")
    parser.add_argument("--tolerance", type=float, default=0.01, help="simplification, degrees")
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()

    if args.topojson:
        with open(args.topojson) as f:
            topology = json.load(f)
    else:
        topology = fetch_topojson(args.scale)
    arcs = decode_arcs(topology)
    land = topology["objects"]["land"]

    polygons = []
    for polygon in polygons_of(land, arcs):
        rings = []
        for index, ring in enumerate(polygon):
            clipped = clip_ring(ring, args.west, args.south, args.east, args.north)
            tidy = tidy_ring(clipped, args.decimals, args.tolerance) if clipped else None
            if tidy is None:
                if index == 0:
                    break  # the outer ring left the box: its holes go with it
                continue
            rings.append(tidy)
        if rings:
            polygons.append(rings)

    collection = {
        "type": "FeatureCollection",
        "bbox": [args.west, args.south, args.east, args.north],
        "source": f"Natural Earth land polygons 1:{args.scale.rstrip('m')}m (public domain), "
        f"from the npm package {PACKAGE} (ISC), clipped to the bbox",
        "license": ISC_NOTICE,
        "features": [
            {
                "type": "Feature",
                "properties": {"layer": "land"},
                "geometry": {"type": "MultiPolygon", "coordinates": polygons},
            }
        ],
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(collection, f, separators=(",", ":"))
        f.write("\n")
    points = sum(len(r) for p in polygons for r in p)
    print(f"{args.out}: {len(polygons)} polygons, {points} points, {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()

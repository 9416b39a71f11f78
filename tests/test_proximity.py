"""Distances for locate (near-boundary candidates, nearest grid) against an independent measure."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gisgrid.boundaries.locate_index import GridIndex, records_from_geojson
from gisgrid.boundaries.proximity import Proximity
from tests.test_locate_index import HEYANG_GRIDS, metric_distance, shared_edge_points


@pytest.fixture(scope="module")
def heyang():
    records = records_from_geojson(str(HEYANG_GRIDS))
    index = GridIndex(records)
    prox = Proximity([r.geom for r in index.records], [r.level for r in index.records])
    return index, prox


def _owners(index, x, y):
    r = index.locate_many(np.asarray(x), np.asarray(y))
    return {1: r.level1, 2: r.level2, 3: r.level3}


def test_points_on_shared_edges_are_near_the_neighbour(heyang):
    index, prox = heyang
    rng = np.random.default_rng(11)
    x, y = shared_edge_points([r for r in index.records if r.level == 2], 40, rng)
    near = prox.near(Proximity.points(x, y), _owners(index, x, y), 20.0)
    for i in range(len(x)):
        chain = index.locate(x[i], y[i])
        assert near[i], "a point on a shared edge is near the other grid"
        assert near[i][0][1] < 0.01  # on the edge: ~0 m, not the ~0.5 m an undensified projection gives
        assert all(j not in chain for j, _ in near[i])
        assert [d for _, d in near[i]] == sorted(d for _, d in near[i])


def test_distances_match_an_independent_measure(heyang):
    index, prox = heyang
    rng = np.random.default_rng(5)
    x, y = shared_edge_points([r for r in index.records if r.level == 2], 30, rng)
    qx, qy = x, y + 10 / 111_000  # ~10 m north of the edge
    near = prox.near(Proximity.points(qx, qy), _owners(index, qx, qy), 50.0)
    checked = 0
    for i in range(len(qx)):
        for j, d in near[i]:
            g = metric_distance(qx[i], qy[i], index.records[j].geom)
            assert abs(d - g) <= 0.005 * g + 0.05, (d, g)
            checked += 1
    assert checked >= 20
    # with a tolerance smaller than every distance, nothing is near
    far = prox.near(Proximity.points(qx, qy), _owners(index, qx, qy), 0.0)
    assert all(not c for c in far)


def test_nearest_grid_outside_the_county(heyang):
    index, prox = heyang
    level1 = [r for r in index.records if r.level == 1]
    county = shapely.union_all([r.geom for r in level1])
    b = county.bounds
    qs = [(b[0] - 0.01, (b[1] + b[3]) / 2), (b[2] + 0.05, b[3] + 0.05), ((b[0] + b[2]) / 2, b[1] - 0.2)]
    rec, dist = prox.nearest(Proximity.points([q[0] for q in qs], [q[1] for q in qs]))
    for (qx, qy), j, d in zip(qs, rec, dist, strict=True):
        assert index.records[j].level == 1
        g = metric_distance(qx, qy, county)
        assert abs(d - g) <= 0.005 * g, (d, g)
        assert abs(metric_distance(qx, qy, index.records[j].geom) - g) <= 0.005 * g

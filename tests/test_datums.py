"""GCJ-02 / BD-09 <-> WGS-84 (gisgrid.boundaries.datums) against the independent `prcoords` package.

prcoords (PyPI, CC0/GPL, scalar pure Python) is a separate implementation of the same published
formulas; its "bored" inverses iterate to a fixed point. Distances are WGS-84 geodesics (pyproj).
"""

from __future__ import annotations

import warnings

import numpy as np
import prcoords
import pytest
from pyproj import Geod

from gisgrid.boundaries import datums

GEOD = Geod(ellps="WGS84")
N = 10_000
# Heyang County's bounding box (a little generous) and mainland China's.
HEYANG_BOX = (109.9, 35.0, 110.5, 35.5)
CHINA_BOX = (73.7, 18.2, 134.8, 53.5)


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    _, _, d = GEOD.inv(np.asarray(lon1, float), np.asarray(lat1, float), np.asarray(lon2, float),
                       np.asarray(lat2, float))
    return np.asarray(d)


def random_points(box, n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(box[0], box[2], n), rng.uniform(box[1], box[3], n)


def apply_scalar(fn, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run a prcoords function ((lat, lon) -> Coords(lat, lon)) over arrays."""
    out = [fn((float(y), float(x))) for x, y in zip(lon, lat, strict=True)]
    return np.array([c.lon for c in out]), np.array([c.lat for c in out])


BOXES = pytest.mark.parametrize("box", [HEYANG_BOX, CHINA_BOX], ids=["heyang", "china"])


@BOXES
def test_gcj02_forward_matches_prcoords(box) -> None:
    lon, lat = random_points(box)
    glon, glat = datums.wgs84_to_gcj02(lon, lat)
    plon, plat = apply_scalar(prcoords.wgs_gcj, lon, lat)
    # The shift itself is real (hundreds of metres), so agreeing is not trivially "both identity".
    assert metres(lon, lat, glon, glat).min() > 1.0
    assert metres(glon, glat, plon, plat).max() < 0.001


@BOXES
def test_bd09_forward_matches_prcoords(box) -> None:
    lon, lat = random_points(box, seed=1)
    blon, blat = datums.wgs84_to_bd09(lon, lat)
    plon, plat = apply_scalar(prcoords.wgs_bd, lon, lat)
    assert metres(lon, lat, blon, blat).min() > 1.0
    assert metres(blon, blat, plon, plat).max() < 0.001
    # And from GCJ-02 to BD-09 alone.
    glon, glat = datums.wgs84_to_gcj02(lon, lat)
    b2lon, b2lat = datums.gcj02_to_bd09(glon, glat)
    p2lon, p2lat = apply_scalar(prcoords.gcj_bd, glon, glat)
    assert metres(b2lon, b2lat, p2lon, p2lat).max() < 0.001


@BOXES
def test_gcj02_inverse_round_trips_and_matches_bored(box) -> None:
    lon, lat = random_points(box, seed=2)
    glon, glat = datums.wgs84_to_gcj02(lon, lat)
    wlon, wlat = datums.gcj02_to_wgs84(glon, glat)
    assert metres(lon, lat, wlon, wlat).max() < 0.5
    plon, plat = apply_scalar(prcoords.gcj_wgs_bored, glon, glat)
    assert metres(wlon, wlat, plon, plat).max() < 0.5
    # to_wgs84 is the same path
    tlon, tlat = datums.to_wgs84(glon, glat, "gcj02")
    np.testing.assert_array_equal(tlon, wlon)
    np.testing.assert_array_equal(tlat, wlat)


@BOXES
def test_bd09_inverse_round_trips_and_matches_bored(box) -> None:
    lon, lat = random_points(box, seed=3)
    blon, blat = datums.wgs84_to_bd09(lon, lat)
    wlon, wlat = datums.bd09_to_wgs84(blon, blat)
    assert metres(lon, lat, wlon, wlat).max() < 0.5
    plon, plat = apply_scalar(prcoords.bd_wgs_bored, blon, blat)
    assert metres(wlon, wlat, plon, plat).max() < 0.5
    # BD-09 -> GCJ-02 alone against prcoords' precise inverse.
    g1lon, g1lat = datums.bd09_to_gcj02(blon, blat)
    g2lon, g2lat = apply_scalar(prcoords.bd_gcj_bored, blon, blat)
    assert metres(g1lon, g1lat, g2lon, g2lat).max() < 0.5
    tlon, tlat = datums.to_wgs84(blon, blat, "BD09")
    np.testing.assert_array_equal(tlon, wlon)
    np.testing.assert_array_equal(tlat, wlat)


def test_inverse_is_better_than_the_one_step_formula() -> None:
    """The module's claim: the common one-step inverse is metre-level off, the iteration is not."""
    lon, lat = random_points(CHINA_BOX, n=2000, seed=4)
    glon, glat = datums.wgs84_to_gcj02(lon, lat)
    rough_lon, rough_lat = apply_scalar(prcoords.gcj_wgs, glon, glat)
    ours_lon, ours_lat = datums.gcj02_to_wgs84(glon, glat)
    assert metres(lon, lat, rough_lon, rough_lat).max() > 0.5
    assert metres(lon, lat, ours_lon, ours_lat).max() < 0.01


@pytest.mark.parametrize(
    "box",
    [(-125.0, 25.0, -66.0, 49.0), (-10.0, 36.0, 30.0, 60.0), (140.0, -45.0, 175.0, -10.0), (20.0, -35.0, 50.0, 0.0)],
    ids=["americas", "europe", "oceania", "africa"],
)
def test_outside_china_gcj02_is_wgs84(box) -> None:
    lon, lat = random_points(box, n=2000, seed=5)
    glon, glat = datums.wgs84_to_gcj02(lon, lat)
    np.testing.assert_array_equal(glon, lon)
    np.testing.assert_array_equal(glat, lat)
    wlon, wlat = datums.gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(wlon, lon)
    np.testing.assert_array_equal(wlat, lat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # prcoords warns "Non-Chinese coords found"
        plon, plat = apply_scalar(prcoords.wgs_gcj, lon, lat)
    np.testing.assert_array_equal(plon, lon)
    np.testing.assert_array_equal(plat, lat)


@pytest.mark.parametrize("crs", ["wgs84", "cgcs2000", "WGS84", "CGCS2000", None, ""])
def test_wgs84_and_cgcs2000_are_identity(crs) -> None:
    lon, lat = random_points(CHINA_BOX, n=500, seed=6)
    for fn in (datums.to_wgs84, datums.from_wgs84):
        x, y = fn(lon, lat, crs)
        np.testing.assert_array_equal(x, lon)
        np.testing.assert_array_equal(y, lat)


def test_from_wgs84_inverts_to_wgs84() -> None:
    lon, lat = random_points(HEYANG_BOX, n=1000, seed=7)
    for crs in ("gcj02", "bd09"):
        x, y = datums.from_wgs84(lon, lat, crs)
        assert metres(lon, lat, x, y).min() > 1.0
        back_lon, back_lat = datums.to_wgs84(x, y, crs)
        assert metres(lon, lat, back_lon, back_lat).max() < 0.01


def test_scalars_are_accepted() -> None:
    x, y = datums.to_wgs84(110.15, 35.24, "gcj02")
    px = prcoords.gcj_wgs_bored((35.24, 110.15))
    assert float(metres(x, y, px.lon, px.lat)) < 0.5


@pytest.mark.parametrize("crs", ["epsg:4326", "gcj-02", "bd-09", "wgs", "utm"])
def test_unknown_crs_raises(crs) -> None:
    with pytest.raises(ValueError, match="unknown crs"):
        datums.to_wgs84([110.0], [35.0], crs)
    with pytest.raises(ValueError, match="unknown crs"):
        datums.from_wgs84([110.0], [35.0], crs)

"""Vehicle rules: geofences, off-route distance, stops, dwell near targets, time windows."""

import math
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString, Point, box

from safemap.gis.vehicle_rules import dwell_near, geofence_hits, in_hours, off_route_m, stops

GEOD = Geod(ellps="WGS84")
LON0, LAT0 = 83.0, 46.2
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def moved(lon, lat, azimuth_deg, dist_m):
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth_deg, dist_m)
    return lon2, lat2


# --- off route -------------------------------------------------------------------------------


def test_one_km_north_of_an_east_west_route():
    route = LineString([(82.95, LAT0), (83.05, LAT0)])  # ~7.7 km along the parallel 46.2° N
    lon, lat = moved(LON0, LAT0, 0, 1000)
    # Independent expectation: the geodesic from the foot of the perpendicular on the parallel.
    expected = GEOD.inv(LON0, LAT0, lon, lat)[2]
    assert expected == pytest.approx(1000, abs=1e-6)
    on_lon, on_lat = 83.02, LAT0  # a point on the route
    d = off_route_m([lon, on_lon], [lat, on_lat], route)
    assert d[0] == pytest.approx(expected, abs=1.0)
    assert d[1] == pytest.approx(0, abs=0.5)


def test_long_route_segment_keeps_the_parallel_shape():
    # one 60 km straight segment along the parallel: without densifying, the UTM chord would sag by metres
    route = LineString([(82.6, LAT0), (83.4, LAT0)])
    lon, lat = moved(83.0, LAT0, 0, 1000)
    assert off_route_m([lon], [lat], route)[0] == pytest.approx(1000, abs=1.0)


def test_off_route_south_and_beyond_the_end_and_multiline():
    route = MultiLineString([[(82.95, LAT0), (83.0, LAT0)], [(83.1, 46.3), (83.2, 46.3)]])
    south = moved(82.97, LAT0, 180, 250)
    beyond = moved(82.95, LAT0, 270, 400)  # 400 m west of the west end
    d = off_route_m([south[0], beyond[0], math.nan], [south[1], beyond[1], 46.0], route)
    assert d[0] == pytest.approx(250, abs=1.0)
    assert d[1] == pytest.approx(400, abs=1.0)
    assert math.isnan(d[2])


def test_off_route_without_route_is_nan():
    assert np.isnan(off_route_m([83.0], [46.2], None)).all()
    assert np.isnan(off_route_m([83.0], [46.2], LineString())).all()


# --- geofences -------------------------------------------------------------------------------


def test_geofence_hits_inside_outside_boundary_overlap():
    town = box(82.9, 46.1, 83.1, 46.3)
    school = box(83.0, 46.2, 83.05, 46.25)  # inside the town
    far = box(84.0, 47.0, 84.1, 47.1)
    lon = [82.95, 83.02, 83.2, 83.1, 84.05, math.nan]
    lat = [46.15, 46.22, 46.2, 46.2, 47.05, 46.2]
    hits = geofence_hits(lon, lat, [town, school, None, far])
    assert hits == [
        [0],  # in the town only
        [0, 1],  # in the town and the school zone
        [],  # east of everything
        [0],  # on the town's east edge: counts as inside (predicate "intersects")
        [3],
        [],  # NaN coordinates hit nothing
    ]


def test_geofence_hits_empty_inputs():
    assert geofence_hits([], [], [box(0, 0, 1, 1)]) == []
    assert geofence_hits([0.5], [0.5], []) == [[]]


# --- stops -----------------------------------------------------------------------------------


def _track():
    """Drive east at 36 km/h (100 m per 10 s fix), stand 5 min with GPS jitter, drive on, stand 1 min."""
    ts, lon, lat, speed = [], [], [], []
    t, x = T0, (82.95, LAT0)
    for _ in range(6):  # driving
        ts.append(t), lon.append(x[0]), lat.append(x[1]), speed.append(36.0)
        x = moved(*x, 90, 100)
        t += timedelta(seconds=10)
    stop_at = x
    jitter = [0, 8, 15, 22, 12, 5, 18, 25, 10, 3, 20]  # metres north, all < 30
    for j in jitter:  # 11 fixes 30 s apart = 300 s
        p = moved(*stop_at, 0, j)
        ts.append(t), lon.append(p[0]), lat.append(p[1]), speed.append(0.5)
        t += timedelta(seconds=30)
    t -= timedelta(seconds=20)
    for _ in range(4):  # driving on
        x = moved(*x, 90, 100)
        ts.append(t), lon.append(x[0]), lat.append(x[1]), speed.append(36.0)
        t += timedelta(seconds=10)
    second = x
    for _ in range(7):  # 60 s standing, speed not reported
        ts.append(t), lon.append(second[0]), lat.append(second[1]), speed.append(None)
        t += timedelta(seconds=10)
    return ts, lon, lat, speed, stop_at, second


def test_stop_detection_on_a_synthetic_track():
    ts, lon, lat, speed, stop_at, second = _track()
    found = stops(ts, lon, lat, speed, min_stop_s=240)
    assert len(found) == 1
    start, end, slon, slat = found[0]
    assert start == T0 + timedelta(seconds=60) and end == start + timedelta(seconds=300)
    assert GEOD.inv(slon, slat, *stop_at)[2] < 1
    # the 60 s stop at the end (still going on) is found with a lower minimum
    found = stops(ts, lon, lat, speed, min_stop_s=60)
    assert len(found) == 2 and GEOD.inv(found[1][2], found[1][3], *second)[2] < 1
    assert found[1][1] == ts[-1]


def test_stop_by_reported_speed_despite_drift_and_by_distance_without_speed():
    # parked, GPS wandering 50 m but speed 0: a stop; the same without speed: broken by the drift
    pts = [moved(LON0, LAT0, 0, d) for d in (0, 50, 10, 45, 5, 50, 0)]
    ts = [T0 + timedelta(minutes=i) for i in range(len(pts))]
    lon, lat = [p[0] for p in pts], [p[1] for p in pts]
    assert len(stops(ts, lon, lat, [0.0] * len(pts), min_stop_s=300)) == 1
    assert stops(ts, lon, lat, None, min_stop_s=300) == []
    # a wider move_m accepts the drift
    assert len(stops(ts, lon, lat, None, min_stop_s=300, move_m=60)) == 1


def test_stops_sorts_fixes_and_handles_empty():
    assert stops([], [], [], None, min_stop_s=60) == []
    ts = [T0 + timedelta(minutes=m) for m in (10, 0, 5)]
    (s,) = stops(ts, [LON0] * 3, [LAT0] * 3, None, min_stop_s=600)
    assert (s[0], s[1]) == (T0, T0 + timedelta(minutes=10))


# --- dwell near targets ----------------------------------------------------------------------


def test_dwell_near_targets():
    a = moved(LON0, LAT0, 45, 150)
    b = moved(LON0, LAT0, 200, 90)
    c = moved(LON0, LAT0, 0, 400)
    hits = dwell_near((LON0, LAT0), [a[0], b[0], c[0], math.nan], [a[1], b[1], c[1], 46.0], 200)
    assert hits == [1, 0]  # nearest first; c is 400 m away; NaN never near
    assert dwell_near((LON0, LAT0), [c[0]], [c[1]], 400.001) == [0]
    assert dwell_near((LON0, LAT0), [], [], 200) == []


# --- time windows ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "clock", "expected"),
    [
        (None, "03:00", True),
        ("", "03:00", True),
        ("07:00-19:00", "07:00", True),  # start included
        ("07:00-19:00", "18:59", True),
        ("07:00-19:00", "19:00", False),  # end excluded
        ("07:00-19:00", "06:59", False),
        ("22:00-06:00", "23:30", True),  # over midnight
        ("22:00-06:00", "00:00", True),
        ("22:00-06:00", "05:59", True),
        ("22:00-06:00", "06:00", False),
        ("22:00-06:00", "12:00", False),
        ("22:00-06:00", "21:59", False),
        ("00:00-24:00", "23:59", True),
        ("00:00-00:00", "12:00", True),
        ("20:00-24:00", "23:59", True),
        ("20:00-24:00", "00:30", False),
    ],
)
def test_in_hours(hours, clock, expected):
    h, m = map(int, clock.split(":"))
    assert in_hours(time(h, m), hours) is expected
    assert in_hours(datetime(2026, 5, 1, h, m), hours) is expected


@pytest.mark.parametrize("bad", ["7-19", "25:00-06:00", "07:60-08:00", "24:30-01:00", "07:00–19:00"])
def test_in_hours_rejects_bad_windows(bad):
    with pytest.raises(ValueError):
        in_hours(time(12, 0), bad)


def test_point_helper_is_symmetric():
    # sanity for the test helper itself
    lon, lat = moved(LON0, LAT0, 90, 1000)
    assert GEOD.inv(LON0, LAT0, lon, lat)[2] == pytest.approx(1000)
    assert Point(lon, lat).y == pytest.approx(LAT0, abs=1e-3)

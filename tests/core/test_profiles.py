from __future__ import annotations

import math

import numpy as np
import pytest

from rohe.core.errors import Conflict, InvalidInput
from rohe.core.profiles import (
    COST_SCALE,
    Metric,
    ModelProfile,
    ProfileCatalog,
    catalog_from_rohe_features,
    dumps_catalog,
    load_iot_journal,
    load_rohe_features,
    load_ucc2024,
    loads_catalog,
)
from shared_inputs import ENSEMBLE_SELECTION, IOT_JOURNAL, UCC2024, require, rohe_catalog


def test_catalog_arrays_follow_first_appearance_and_mark_unknowns() -> None:
    catalog = ProfileCatalog.of(
        [
            ModelProfile(model="b", node_type="pi", throughput_rps=4, class_accuracy={3: 0.5}),
            ModelProfile(model="a", node_type="nuc", accuracy=0.9, cost_base=2.0),
        ],
        {3: "car"},
    )
    assert catalog.models == ("b", "a") and catalog.node_types == ("pi", "nuc")
    assert catalog.values.shape == (2, 2, len(Metric))
    assert catalog.values[0, 0, Metric.THROUGHPUT_RPS] == 4
    assert catalog.values[1, 1, Metric.ACCURACY] == 0.9
    assert math.isnan(catalog.values[0, 1, Metric.ACCURACY])  # b on nuc: never profiled
    assert catalog.available.tolist() == [[True, False], [False, True]]
    assert catalog.class_accuracy[0, 0, 0] == 0.5
    with pytest.raises(ValueError):
        catalog.values[0, 0, 0] = 1.0  # shared arrays are read-only


def test_duplicate_profile_is_a_conflict() -> None:
    p = ModelProfile(model="a", node_type="pi")
    with pytest.raises(Conflict):
        ProfileCatalog.of([p, p])


def test_profile_rejects_out_of_range_quality_and_unordered_latency() -> None:
    with pytest.raises(ValueError, match="class_accuracy"):
        ModelProfile(model="a", node_type="pi", class_accuracy={1: 1.5})
    with pytest.raises(ValueError, match="percentiles"):
        ModelProfile(model="a", node_type="pi", latency_p50_ms=10, latency_p99_ms=5)


def test_rohe_feature_tables_derive_published_cost() -> None:
    catalog = load_rohe_features(
        require(ENSEMBLE_SELECTION / "model9_features.yaml"),
        require(ENSEMBLE_SELECTION / "device8_features.yaml"),
        require(ENSEMBLE_SELECTION / "classObject.yaml"),
    )
    assert len(catalog.models) == 9 and len(catalog.node_types) == 8
    assert catalog.classes[6] == "pedestrian"
    m, n = catalog.models.index("model1"), catalog.node_types.index("Rasp")
    assert catalog.values[m, n, Metric.COST_BASE] == pytest.approx(COST_SCALE * (500.0 + 150.5149978319906))
    assert catalog.values[m, n, Metric.COST_PER_REQUEST] == 0.0  # ignored, as the published method does
    # the tables' throughput fields are 0: not measured, so unknown rather than a division by zero later
    assert np.isnan(catalog.values[:, :, Metric.THROUGHPUT_RPS]).all()


def test_rohe_feature_tables_report_bad_prices() -> None:
    with pytest.raises(InvalidInput) as exc:
        catalog_from_rohe_features({"m": {"baseCost": "lots", "costPerRequest": 1}}, {"d": {"costPerRequest": 1}})
    assert {p.location for p in exc.value.problems} == {"m.baseCost", "d.baseCost"}


def test_rohe_catalog_with_ucc_quality() -> None:
    catalog = rohe_catalog()
    ucc = load_ucc2024(require(UCC2024 / "profiles_011023_0")).profile("vgg", "ucc-testbed")
    assert ucc is not None
    m = catalog.models.index("model1")
    for n in range(len(catalog.node_types)):  # quality is per model, the same on every node type
        assert catalog.class_accuracy[m, n, catalog.class_index(6)] == ucc.class_accuracy[6]
        assert catalog.values[m, n, Metric.THROUGHPUT_RPS] == ucc.throughput_rps
    assert not np.isnan(catalog.values[:, :, Metric.THROUGHPUT_RPS]).any()


@pytest.mark.parametrize("folder", ["profiles_011023_0", "profiles_250923_0", "profiles_250923_1"])
def test_every_ucc2024_profile_set_loads(folder: str) -> None:
    catalog = load_ucc2024(require(UCC2024 / folder))
    assert len(catalog.models) == 9 and catalog.node_types == ("ucc-testbed",)
    assert set(catalog.class_ids) >= {0, 1, 2, 6}
    values = catalog.values[:, 0, :]
    assert (values[:, Metric.LATENCY_P99_MS] >= values[:, Metric.LATENCY_P50_MS]).all()
    assert (values[:, Metric.THROUGHPUT_RPS] > 1).all()
    assert ((values[:, Metric.ACCURACY] > 0) & (values[:, Metric.ACCURACY] < 1)).all()
    assert np.isnan(values[:, Metric.COST_BASE]).all()


def test_ucc2024_hand_checked_row() -> None:
    catalog = load_ucc2024(require(UCC2024 / "profiles_250923_0"))
    vgg = catalog.profile("vgg", "ucc-testbed")
    assert vgg is not None
    assert vgg.class_accuracy[1] == pytest.approx(0.6617647058823529)
    assert vgg.class_confidence[1] == pytest.approx(0.7540798189447206)
    assert vgg.throughput_rps == pytest.approx(14.943959226541912)
    assert catalog.classes[12] == "truck"


def test_iot_journal_joins_quality_and_performance() -> None:
    catalog = load_iot_journal(
        [require(IOT_JOURNAL / "MINI_ROCKET_v1.yaml"), require(IOT_JOURNAL / "X3D_L_v1.yaml")],
        require(IOT_JOURNAL / "performance_data_sample.yaml"),
    )
    assert set(catalog.models) == {"MINI_ROCKET", "X3D_XS", "X3D_S", "X3D_M", "X3D_L"}
    rocket = catalog.profile("MINI_ROCKET", "jetson_nano-gpu")
    assert rocket is not None and rocket.accuracy == pytest.approx(0.57028)
    assert rocket.latency_p99_ms == pytest.approx(20.0) and rocket.throughput_rps == 100
    assert len(rocket.class_accuracy) == 35
    x3d_l_orin_cpu = catalog.profile("X3D_L", "jetson_orin_super-cpu")
    assert x3d_l_orin_cpu is not None and x3d_l_orin_cpu.throughput_rps == pytest.approx(0.33)
    assert catalog.profile("X3D_XS", "jetson_nano-gpu").accuracy is None  # type: ignore[union-attr]


@pytest.mark.parametrize("loader", ["rohe", "ucc", "iot"])
def test_csv_round_trip(loader: str) -> None:
    if loader == "rohe":
        catalog = rohe_catalog()
    elif loader == "ucc":
        catalog = load_ucc2024(require(UCC2024 / "profiles_011023_0"))
    else:
        catalog = load_iot_journal(
            [require(IOT_JOURNAL / "X3D_L_v1.yaml")], require(IOT_JOURNAL / "performance_data_sample.yaml")
        )
    again = loads_catalog(dumps_catalog(catalog))
    assert again.profiles == catalog.profiles
    assert dict(again.classes) == dict(catalog.classes)
    np.testing.assert_array_equal(again.values, catalog.values)


def test_csv_errors_name_line_and_column() -> None:
    with pytest.raises(InvalidInput) as exc:
        loads_catalog("model,node_type,accuracy\na,pi,1.5\n", "p.csv")
    assert exc.value.problems[0].location.startswith("p.csv:2")
    with pytest.raises(InvalidInput) as exc:
        loads_catalog("model,node_type,colour\n", "p.csv")
    assert "column 3" in exc.value.problems[0].location

"""The example applications by name, each described by everything `rohe demo` needs to run it.

`EXAMPLE_APPS` is keyed `object-classification`, `bts`, `cctvs`, `smart-building`. Nothing heavy is
imported until a descriptor's callable is used, so listing the apps costs nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rohe.core.errors import NotFound, Problem
from rohe.core.profiles import ProfileCatalog
from rohe.examples.workload import Workload
from rohe.serving.loadgen.samples import LabelledSamples
from rohe.serving.model_service import Predictor

Preprocess = Callable[[list[float]], list[float]]


@dataclass(frozen=True)
class ExampleApp:
    """One example application, as the demo (and any other driver) uses it.

    - `name`: the registry key (`rohe demo --app NAME`); `application`: the pipeline spec's application,
      which is also the observation app its reports and windows are filed under.
    - `pipeline_file`: the pipeline spec (rohe.serving.pipeline): stages, modalities with their models and
      services, fusion; its `services` are rohe's service schema, so the same file is what is placed
      (`spec.services` -> orchestration) and what the Kubernetes manifests are built from.
    - `contract_files`: the consumer contracts the gateway serves and the observation agent judges: the
      app's own consumers, then ROHE's published contract for the app where there is one.
    - `consumers`: the consumer names of the app's own contracts, for which the schedulers choose visibly
      different members (the demo's load mixes these).
    - `killed_model`: the model whose service the demo SIGKILLs mid-run (a mid-cost member, so requests keep
      being answered by the others).
    - `ensure_models(data_dir)`: train once or load the cached models (cache keyed by data and training
      code; damaged caches are retrained); returns the app's trained bundle, whose `.trained` says which.
    - `workload(data_dir)`: predictors + preprocessed held-out inputs + labels + class names (`rohe profile`).
    - `samples()`: held-out raw inputs (what a client sends) with their labels, for the load generator.
      A multimodal app's sample is its modalities' raw inputs concatenated in `modality_sizes` order.
    - `request_inputs(sample)`: one raw sample -> the gateway's `inputs` field ({modality: values}).
    - `preprocessors(data_dir)`: modality -> the in-process preprocessing stage the gateway runs
      (`build_gateway(..., preprocessors=...)`); the spec's entrypoints do the same from ROHE_DATA_DIR.
    - `measure_profiles(data_dir, endpoints, quick)`: the models' profiles on this machine, accuracy
      in-process and latency over HTTP against the running model services `endpoints` (model -> URLs).
    - `load_model(data_dir, model)`: one model as a Predictor (what its model service serves).
    - `model_service_command(model)`: the command of that model's service, as in the pipeline file, with
      `{python}`, `{port}`, `{host}` left for the deployer to fill in.
    - `modality_sizes`: (modality, number of raw values) in the spec's order.
    - `modality_workloads(data_dir)`: modality -> the workload of that modality's members, inputs in that
      modality's preprocessed form (what profiling over HTTP sends each model service).
    """

    name: str
    application: str
    pipeline_file: Path
    contract_files: tuple[Path, ...]
    consumers: tuple[str, ...]
    killed_model: str
    ensure_models: Callable[[Path], Any]
    workload: Callable[[Path], Workload]
    samples: Callable[[], LabelledSamples]
    request_inputs: Callable[[Sequence[float]], dict[str, list[float]]]
    preprocessors: Callable[[Path], dict[str, Preprocess]]
    measure_profiles: Callable[[Path, Mapping[str, list[str]], bool], ProfileCatalog]
    load_model: Callable[[Path, str], Predictor]
    model_service_command: Callable[[str], list[str]]
    modality_sizes: tuple[tuple[str, int], ...]
    modality_workloads: Callable[[Path], dict[str, Workload]]

    def load_samples(self) -> LabelledSamples:
        """`samples()` as a load generator sends them: split into `inputs` by modality when multimodal."""
        samples = self.samples()
        return samples.with_split(self.request_inputs) if len(self.modality_sizes) > 1 else samples


def _module(name: str) -> Any:
    return importlib.import_module(f"rohe.examples.{name}")


def _as_function(stage: Callable[[Any], Any]) -> Preprocess:
    import numpy as np

    def run(sample: list[float]) -> list[float]:
        return [float(x) for x in np.asarray(stage(np.asarray(sample, dtype=np.float64)))[0]]

    return run


def _single(modality: str) -> Callable[[Sequence[float]], dict[str, list[float]]]:
    return lambda sample: {modality: [float(x) for x in sample]}


def _samples(package: str) -> Callable[[], LabelledSamples]:
    def load() -> LabelledSamples:
        inputs, labels = _module(package).raw_samples()
        return LabelledSamples.of(inputs, labels)

    return load


def _measure(workload: Callable[[Path], Workload]) -> Callable[[Path, Mapping[str, list[str]], bool], ProfileCatalog]:
    def measure(data_dir: Path, endpoints: Mapping[str, list[str]], quick: bool) -> ProfileCatalog:
        from rohe.serving.profiling_http import measure_catalog

        n = 15 if quick else 40
        return measure_catalog(workload(data_dir), endpoints, http_samples=n, repeats=n)

    return measure


def _one_modality(
    modality: str, workload: Callable[[Path], Workload]
) -> Callable[[Path], dict[str, Workload]]:
    return lambda data_dir: {modality: workload(data_dir)}


def _serve_command(app: str) -> Callable[[str], list[str]]:
    return lambda model: [
        "{python}", "-m", "rohe.examples.serve", "--app", app, "--model", model,
        "--port", "{port}", "--host", "{host}",
    ]


def _object_classification() -> ExampleApp:
    def package() -> Any:
        return _module("object_classification")

    def samples() -> LabelledSamples:
        from rohe.examples.workload import example_samples

        return example_samples()

    def workload(data_dir: Path) -> Workload:
        return package().object_classification_workload(data_dir)  # type: ignore[no-any-return]

    def load_model(data_dir: Path, model: str) -> Predictor:
        return package().load_model(data_dir, model)  # type: ignore[no-any-return]

    def preprocessors(data_dir: Path) -> dict[str, Preprocess]:
        return {"image": _as_function(package().ensure_models(data_dir).preprocessor)}

    data = Path(__file__).parent / "object_classification" / "data"
    return ExampleApp(
        name="object-classification",
        application="object-classification",
        pipeline_file=data / "pipeline.yaml",
        contract_files=(data / "accuracy-first.yaml", data / "fast-and-cheap.yaml"),
        consumers=("accuracy-first", "fast-and-cheap"),
        killed_model="random-forest",
        ensure_models=lambda data_dir: package().ensure_models(data_dir),
        workload=workload,
        samples=samples,
        request_inputs=_single("image"),
        preprocessors=preprocessors,
        measure_profiles=_measure(workload),
        load_model=load_model,
        model_service_command=lambda model: [
            "{python}", "-m", "rohe.examples.object_classification.serve", "--model", model,
            "--port", "{port}", "--host", "{host}",
        ],
        modality_sizes=(("image", 64),),
        modality_workloads=_one_modality("image", workload),
    )


def _scaled_single_modality(
    package: str, *, consumers: tuple[str, str], killed_model: str, modality: str, size: int
) -> ExampleApp:
    """An app of one modality whose preprocessing is the scaler its `ensure_models` fitted (bts, cctvs); its
    contracts are the two consumers' and ROHE's published `rohe-<package>.yaml`."""

    def workload(data_dir: Path) -> Workload:
        return getattr(_module(package), f"{package}_workload")(data_dir)  # type: ignore[no-any-return]

    data = Path(__file__).parent / package / "data"
    return ExampleApp(
        name=package,
        application=package,
        pipeline_file=data / "pipeline.yaml",
        contract_files=(*(data / f"{c}.yaml" for c in consumers), data / f"rohe-{package}.yaml"),
        consumers=consumers,
        killed_model=killed_model,
        ensure_models=lambda data_dir: _module(package).ensure_models(data_dir),
        workload=workload,
        samples=_samples(package),
        request_inputs=_single(modality),
        preprocessors=lambda data_dir: {modality: _as_function(_module(package).ensure_models(data_dir).scaler)},
        measure_profiles=_measure(workload),
        load_model=lambda data_dir, model: _module(package).load_model(data_dir, model),
        model_service_command=_serve_command(package),
        modality_sizes=((modality, size),),
        modality_workloads=_one_modality(modality, workload),
    )


def _bts() -> ExampleApp:
    return _scaled_single_modality(
        "bts", consumers=("grid-operator", "dashboard"), killed_model="gradient-boosting", modality="energy", size=168
    )


def _cctvs() -> ExampleApp:
    return _scaled_single_modality(
        "cctvs", consumers=("security-guard", "people-counter"), killed_model="mlp", modality="window", size=256
    )


def _smart_building() -> ExampleApp:
    def package() -> Any:
        return _module("smart_building")

    def workload(data_dir: Path) -> Workload:
        return package().smart_building_workload(data_dir)  # type: ignore[no-any-return]

    def preprocessors(data_dir: Path) -> dict[str, Preprocess]:
        stages = package().ensure_models(data_dir).preprocessors
        return {modality: _as_function(stage) for modality, stage in stages.items()}

    def measure(data_dir: Path, endpoints: Mapping[str, list[str]], quick: bool) -> ProfileCatalog:
        from rohe.serving.profiling_http import measure_catalog

        n = 15 if quick else 40
        catalogs = [
            measure_catalog(w, {m: endpoints[m] for m in w.predictors}, http_samples=n, repeats=n)
            for w in package().modality_workloads(data_dir).values()
        ]
        merged = catalogs[0]
        for other in catalogs[1:]:
            merged = merged.merged(other)
        return merged

    def request_inputs(sample: Sequence[float]) -> dict[str, list[float]]:
        return package().split_sample(sample)  # type: ignore[no-any-return]

    data = Path(__file__).parent / "smart_building" / "data"
    return ExampleApp(
        name="smart-building",
        application="smart-building",
        pipeline_file=data / "pipeline.yaml",
        contract_files=(
            data / "safety-monitor.yaml", data / "hvac-control.yaml", data / "rohe-smart_building.yaml"
        ),
        consumers=("safety-monitor", "hvac-control"),
        killed_model="FRAME_MLP",
        ensure_models=lambda data_dir: package().ensure_models(data_dir),
        workload=workload,
        samples=_samples("smart_building"),
        request_inputs=request_inputs,
        preprocessors=preprocessors,
        measure_profiles=measure,
        load_model=lambda data_dir, model: package().load_model(data_dir, model),
        model_service_command=_serve_command("smart-building"),
        modality_sizes=(("timeseries", 600), ("video", 576)),
        modality_workloads=lambda data_dir: package().modality_workloads(data_dir),
    )


EXAMPLE_APPS: dict[str, ExampleApp] = {
    app.name: app for app in (_object_classification(), _bts(), _cctvs(), _smart_building())
}


def example_app(name: str) -> ExampleApp:
    """The app by registry key (`object_classification` and `object-classification` are the same)."""
    key = name.strip().replace("_", "-")
    if key not in EXAMPLE_APPS:
        raise NotFound(
            "unknown example application",
            [Problem("app", f"{name!r} is not an example", f"use one of: {', '.join(EXAMPLE_APPS)}")],
        )
    return EXAMPLE_APPS[key]

"""Loading from the Hugging Face Hub by id, through the real ``datasets`` client, against a hub
that speaks the protocol on 127.0.0.1 (``tests/hub_server.py``): evaluation tasks by their hub ids
and configs, and parallel data for the data builder. No network is used."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("datasets")
pytest.importorskip("pyarrow")

from hub_server import COMMIT, Hub, dataset_repo  # noqa: E402

pytestmark = pytest.mark.slow

MGSM_TEST = [
    ("Juan tiene 3 manzanas y compra 4 más. ¿Cuántas tiene?", 7),
    ("Un tren recorre 60 km en una hora. ¿Cuántos km recorre en 2 horas?", 120),
    ("María tenía 10 euros y gastó 3. ¿Cuánto le queda?", 7),
]
XNLI_TEST = [
    ("El gato duerme en el sofá.", "Un animal está durmiendo.", 0),
    ("El gato duerme en el sofá.", "El perro corre por el parque.", 1),
    ("El gato duerme en el sofá.", "El gato está despierto y corriendo.", 2),
    ("Llueve mucho hoy.", "El suelo está mojado.", 0),
]
PAIRS = [
    ("Open the selected file", "Abrir el archivo seleccionado"),
    ("Save the document as", "Guardar el documento como"),
    ("Close all open windows", "Cerrar todas las ventanas abiertas"),
    ("Print the current page", "Imprimir la página actual"),
    ("Delete the selected items", "Eliminar los elementos seleccionados"),
    ("Show hidden files", "Mostrar archivos ocultos"),
    ("Copy the link address", "Copiar la dirección del enlace"),
    ("Move to the trash", "Mover a la papelera"),
    ("Create a new folder", "Crear una carpeta nueva"),
    ("Search in all files", "Buscar en todos los archivos"),
]


@pytest.fixture(scope="module")
def hub():
    repos = {
        "juletxara/mgsm": dataset_repo(
            {
                "es": {
                    "train": [
                        {
                            "question": "Ana tiene 2 lápices y le dan 2. ¿Cuántos tiene?",
                            "answer": "2 + 2 = 4. La respuesta es 4.",
                            "answer_number": 4,
                            "equation_solution": "2+2=4",
                        }
                    ],
                    "test": [
                        {"question": q, "answer": None, "answer_number": a, "equation_solution": None}
                        for q, a in MGSM_TEST
                    ],
                }
            }
        ),
        "facebook/xnli": dataset_repo(
            {
                "es": {
                    "test": [{"premise": p, "hypothesis": h, "label": y} for p, h, y in XNLI_TEST],
                    "validation": [{"premise": "Hace sol.", "hypothesis": "Es de día.", "label": 0}],
                }
            }
        ),
        "google/xquad": dataset_repo(
            {
                "xquad.es": {
                    "validation": [
                        {
                            "id": f"q{i}",
                            "context": "La capital de Francia es París. Madrid es la capital de España.",
                            "question": q,
                            "answers": {"text": [a], "answer_start": [c]},
                        }
                        for i, (q, a, c) in enumerate(
                            [
                                ("¿Cuál es la capital de Francia?", "París", 26),
                                ("¿Cuál es la capital de España?", "Madrid", 33),
                            ]
                        )
                    ]
                }
            }
        ),
        "acme/opus": dataset_repo({"en-es": {"train": [{"translation": {"en": en, "es": es}} for en, es in PAIRS]}}),
        "acme/broken": {
            "README.md": dataset_repo({"default": {"train": []}})["README.md"],
            "default/train-00000-of-00001.parquet": b"PAR1 this is not a parquet file",
        },
    }
    server = Hub(datasets=repos)
    yield server
    server.close()


def run_cli(*args, cwd, hub):
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_OFFLINE": "0",
        "HF_DATASETS_OFFLINE": "0",
        "HF_HOME": str(cwd / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "polyalign", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def test_eval_tasks_load_by_hub_id_and_config(tmp_path, tiny_model_dir, hub):
    out = tmp_path / "out"
    proc = run_cli(
        "eval",
        "--model",
        tiny_model_dir,
        "--tasks",
        "mgsm,xnli,xquad",
        "--langs",
        "es",
        "--num-fewshot",
        "1",
        "--max-new-tokens",
        "4",
        "-o",
        out,
        cwd=tmp_path,
        hub=hub,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "results.json").read_text())
    assert list(doc["results"]) == ["mgsm/es", "xnli/es", "xquad/es"]

    def rows(name):
        return [json.loads(x) for x in (out / f"samples_{name}.jsonl").read_text(encoding="utf-8").splitlines()]

    mgsm = rows("mgsm_es")  # the test split evaluated, the demonstration from the train split
    assert [r["reference"] for r in mgsm] == [a for _, a in MGSM_TEST]
    assert all(
        MGSM_TEST[i][0] in r["prompt"] and "2 + 2 = 4. La respuesta es 4." in r["prompt"] for i, r in enumerate(mgsm)
    )
    xnli = rows("xnli_es")
    assert len(xnli) == len(XNLI_TEST) and doc["configs"]["xnli/es"]["excluded_for_demos"] == 0  # demos from validation
    assert doc["results"]["xnli/es"]["accuracy"] == pytest.approx(100.0 * sum(r["correct"] for r in xnli) / len(xnli))
    assert len(rows("xquad_es")) == 1 and doc["configs"]["xquad/es"]["excluded_for_demos"] == 1
    asked = set(hub.requests)
    for repo, config, split in (
        ("juletxara/mgsm", "es", "test"),
        ("facebook/xnli", "es", "test"),
        ("google/xquad", "xquad.es", "validation"),
    ):
        assert f"GET /datasets/{repo}/resolve/{COMMIT}/{config}/{split}-00000-of-00001.parquet" in asked, sorted(asked)

    missing = run_cli(
        "eval",
        "--model",
        tiny_model_dir,
        "--tasks",
        "pawsx",
        "--langs",
        "es",
        "-o",
        tmp_path / "nope",
        cwd=tmp_path,
        hub=hub,
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    last = missing.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "error: cannot load google-research-datasets/paws-x (es, test) from the hub"
    ) and last.endswith("pass local files with --data TASK=PATH")


def test_data_build_reads_parallel_pairs_from_a_hub_dataset_with_a_column_mapping(tmp_path, hub):
    recipe = tmp_path / "hub.yaml"
    recipe.write_text("""
name: hub
data:
  builder: coit
  languages: [es]
  sources: ["hf:acme/opus:en-es@train#src=translation.en,tgt=translation.{lang}"]
  instructions: []
  language_id: false
  min_words: 2
  test_size: 3
""")
    proc = run_cli("data", "build", recipe, f"runs_dir={tmp_path / 'runs'}", cwd=tmp_path, hub=hub)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = tmp_path / "runs" / "hub" / "data"
    manifest = json.loads((data / "manifest.json").read_text())
    info = manifest["languages"]["es"]
    assert info["sources"] == {"hf:acme/opus:en-es@train": len(PAIRS)}, info["sources"]
    assert (info["train_pairs"], info["test_pairs"]) == (len(PAIRS) - 3, 3)
    test = [json.loads(x) for x in (data / "test_en-es.jsonl").read_text(encoding="utf-8").splitlines()]
    train = (data / "train.jsonl").read_text(encoding="utf-8")
    assert all((t["src"], t["tgt"]) in PAIRS and t["src"] not in train for t in test)  # held out, disjoint by source
    assert sum(es in train for _, es in PAIRS) == len(PAIRS) - 3

    # A dataset that breaks while it is read: one line, exit 2, nothing written.
    broken = (
        recipe.read_text()
        .replace("hf:acme/opus:en-es@train#src=translation.en,tgt=translation.{lang}", "hf:acme/broken@train")
        .replace("name: hub", "name: broken")
    )
    recipe.write_text(broken)
    proc = run_cli("data", "build", recipe, f"runs_dir={tmp_path / 'runs'}", cwd=tmp_path, hub=hub)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: hf:acme/broken@train: cannot ")
    assert not (tmp_path / "runs" / "broken" / "data" / "train.jsonl").exists()


@pytest.fixture(scope="module")
def model_hub(tiny_model_dir):
    import io

    import torch
    from safetensors.torch import load_file

    from hub_server import model_repo

    files = model_repo(tiny_model_dir)
    pickled = {k: v for k, v in files.items() if not k.endswith(".safetensors")}
    buf = io.BytesIO()
    torch.save(load_file(tiny_model_dir / "model.safetensors"), buf)
    pickled["pytorch_model.bin"] = buf.getvalue()
    server = Hub(models={"acme/tiny-llama": files, "acme/pickle-only": pickled})
    yield server
    server.close()


def test_a_model_loads_by_hub_id_safetensors_only(tmp_path, model_hub):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("Open the file\tAbre el archivo\nSave\tGuardar\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = run_cli(
        "eval",
        "--model",
        "acme/tiny-llama",
        "--tasks",
        "local_translation",
        "--langs",
        "en-es",
        "--data",
        f"local_translation={pairs}",
        "--max-new-tokens",
        "3",
        "-o",
        out,
        cwd=tmp_path,
        hub=model_hub,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((out / "results.json").read_text())
    assert doc["config"]["model"] == "acme/tiny-llama" and doc["n-samples"]["local_translation/en-es"]["effective"] == 2
    assert f"GET /acme/tiny-llama/resolve/{COMMIT}/model.safetensors" in model_hub.requests

    # Pickled weights are never fetched, let alone unpickled: one line, exit 2.
    refused = run_cli(
        "eval",
        "--model",
        "acme/pickle-only",
        "--tasks",
        "local_translation",
        "--langs",
        "en-es",
        "--data",
        f"local_translation={pairs}",
        "-o",
        tmp_path / "nope",
        cwd=tmp_path,
        hub=model_hub,
    )
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr[-3000:]
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: acme/pickle-only: no safetensors weights in this model (polyalign does not load pickled weights)"
    )
    assert not any(r.endswith("pytorch_model.bin") for r in model_hub.requests if r.startswith("GET"))


def test_the_bundled_model_converts_once_with_one_line_of_polyalign_and_no_library_bars(tmp_path):
    """First use of the bundled default (a fresh cache): the GGUF becomes a safetensors folder, and the
    terminal shows polyalign's one line about it, not transformers' tensor and shard bars."""
    env = {**os.environ, "POLYALIGN_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    code = "from polyalign.models import load_model; load_model('HuggingFaceTB/SmolLM2-135M-Instruct'); print('loaded')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == "loaded\n"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("[polyalign] model: converting the bundled "), proc.stderr[-2000:]
    folder = next((tmp_path / "cache" / "models").iterdir())
    assert (folder / "model.safetensors").is_file() and (folder / "polyalign_source.json").is_file()

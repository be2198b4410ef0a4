"""Build a CoIT mixture from 1,000,000 parallel pairs with every filter; compare with plain Python.

    python benchmarks/data_build.py [--pairs 1000000] [--train 20000] [--test 500]

A generated English→Spanish JSONL file of ``--pairs`` pairs (with duplicates, near duplicates,
empty and identical sides, broken placeholders, length outliers and French "translations" mixed
in) goes through

* **polyalign**: ``polyalign.data.mixtures.build`` of a CoIT spec (streams the file; cheap filters
  and de-duplication on every pair, a bounded heap of the best-ranked candidates, language identification and the fuzzy
  near-copy check (MinHash, ``max_similarity`` 0.8) only on those), writing train.jsonl, the test
  file and the manifest; and
* **plain Python** (the peer): load every pair into a list, run the same filters over the whole
  list (language identification included), sort by the same seeded rank, drop near-copies of
  what is already chosen in rank order, take train and test, and write the same translation
  examples.

Each side runs in its own subprocess so its peak memory (``ru_maxrss``) is its own; CPU time is
printed beside wall time because a shared machine inflates wall time. Both must select exactly
the same pairs (checked). The last line is ``ratio X``: the plain-Python wall time divided by
polyalign's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VERBS = [
    ("Open", "Abrir"),
    ("Close", "Cerrar"),
    ("Delete", "Eliminar"),
    ("Copy", "Copiar"),
    ("Save", "Guardar"),
    ("Rename", "Renombrar"),
    ("Move", "Mover"),
    ("Print", "Imprimir"),
    ("Share", "Compartir"),
    ("Export", "Exportar"),
    ("Import", "Importar"),
    ("Select", "Seleccionar"),
    ("Hide", "Ocultar"),
    ("Show", "Mostrar"),
    ("Lock", "Bloquear"),
    ("Unlock", "Desbloquear"),
    ("Archive", "Archivar"),
    ("Restore", "Restaurar"),
    ("Download", "Descargar"),
    ("Upload", "Subir"),
    ("Check", "Comprobar"),
    ("Update", "Actualizar"),
    ("Send", "Enviar"),
    ("Sort", "Ordenar"),
    ("Search", "Buscar"),
    ("Edit", "Editar"),
    ("Review", "Revisar"),
    ("Publish", "Publicar"),
    ("Sync", "Sincronizar"),
    ("Scan", "Escanear"),
    ("Merge", "Combinar"),
    ("Split", "Dividir"),
    ("Compress", "Comprimir"),
    ("Convert", "Convertir"),
    ("Encrypt", "Cifrar"),
    ("Verify", "Verificar"),
    ("Attach", "Adjuntar"),
    ("Pin", "Fijar"),
    ("Tag", "Etiquetar"),
    ("Clean", "Limpiar"),
]
NOUNS = [
    (e, s)
    for e, s in [
        ("file", "el archivo"),
        ("folder", "la carpeta"),
        ("document", "el documento"),
        ("image", "la imagen"),
        ("window", "la ventana"),
        ("project", "el proyecto"),
        ("message", "el mensaje"),
        ("list", "la lista"),
        ("page", "la página"),
        ("table", "la tabla"),
        ("report", "el informe"),
        ("account", "la cuenta"),
        ("contact", "el contacto"),
        ("calendar", "el calendario"),
        ("note", "la nota"),
        ("playlist", "la lista de reproducción"),
        ("photo", "la foto"),
        ("video", "el vídeo"),
        ("song", "la canción"),
        ("album", "el álbum"),
        ("chart", "el gráfico"),
        ("drawing", "el dibujo"),
        ("template", "la plantilla"),
        ("backup", "la copia de seguridad"),
        ("invoice", "la factura"),
        ("order", "el pedido"),
        ("ticket", "el tique"),
        ("task", "la tarea"),
        ("event", "el evento"),
        ("profile", "el perfil"),
        ("device", "el dispositivo"),
        ("printer", "la impresora"),
        ("network", "la red"),
        ("server", "el servidor"),
        ("database", "la base de datos"),
        ("script", "el guion"),
        ("theme", "el tema"),
        ("font", "la fuente"),
        ("language", "el idioma"),
        ("keyboard", "el teclado"),
        ("screen", "la pantalla"),
        ("tab", "la pestaña"),
        ("bookmark", "el marcador"),
        ("password", "la contraseña"),
        ("certificate", "el certificado"),
        ("license", "la licencia"),
        ("comment", "el comentario"),
        ("question", "la pregunta"),
        ("answer", "la respuesta"),
        ("email", "el correo"),
        ("attachment", "el adjunto"),
        ("draft", "el borrador"),
        ("signature", "la firma"),
        ("filter", "el filtro"),
        ("rule", "la regla"),
        ("group", "el grupo"),
        ("user", "el usuario"),
        ("role", "el rol"),
        ("setting", "el ajuste"),
        ("plugin", "el complemento"),
    ]
]
ADJS = [
    ("selected", "seleccionado"),
    ("current", "actual"),
    ("new", "nuevo"),
    ("old", "antiguo"),
    ("shared", "compartido"),
    ("hidden", "oculto"),
    ("locked", "bloqueado"),
    ("recent", "reciente"),
    ("default", "predeterminado"),
    ("temporary", "temporal"),
    ("public", "público"),
    ("private", "privado"),
    ("empty", "vacío"),
    ("large", "grande"),
    ("small", "pequeño"),
    ("first", "primer"),
    ("last", "último"),
    ("next", "siguiente"),
    ("previous", "anterior"),
    ("main", "principal"),
    ("local", "local"),
    ("remote", "remoto"),
    ("active", "activo"),
    ("open", "abierto"),
    ("damaged", "dañado"),
]
PLACES = [
    ("now", "ahora"),
    ("later", "más tarde"),
    ("again", "de nuevo"),
    ("automatically", "automáticamente"),
    ("for everyone", "para todos"),
    ("on this device", "en este dispositivo"),
    ("in the background", "en segundo plano"),
    ("before closing", "antes de cerrar"),
    ("without asking", "sin preguntar"),
    ("from the menu", "desde el menú"),
    ("from the toolbar", "desde la barra de herramientas"),
    ("with one click", "con un clic"),
    ("in a new window", "en una ventana nueva"),
    ("in a new tab", "en una pestaña nueva"),
    ("safely", "de forma segura"),
    ("quickly", "rápidamente"),
    ("every day", "cada día"),
    ("every week", "cada semana"),
    ("at startup", "al iniciar"),
    ("on exit", "al salir"),
]


def _agree(adj_es: str, noun_es: str) -> str:
    return adj_es[:-1] + "a" if noun_es.startswith("la ") and adj_es.endswith("o") else adj_es


def generate(path: Path, n: int, seed: int = 0) -> None:
    """Write ``n`` pairs: mostly clean and distinct, with every kind of noise the filters remove."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        combos = len(VERBS) * len(NOUNS) * len(ADJS) * len(PLACES)
        step = 7919  # a prime: walks every combination once, in a scrambled order
        for i in range(n):
            k = (i * step) % combos
            (ve, vs), (ne, ns), (ae, as_), (pe, ps) = (
                VERBS[k % 40],
                NOUNS[k // 40 % 60],
                ADJS[k // 2400 % 25],
                PLACES[k // 60000 % 20],
            )
            src, tgt = f"{ve} the {ae} {ne} {pe}", f"{vs} {ns} {_agree(as_, ns)} {ps}"
            r = rng.random()
            if r < 0.05:  # exact duplicate of an earlier source
                j = rng.randrange(max(i, 1))
                k = (j * step) % combos
                (ve, vs), (ne, ns), (ae, as_), (pe, ps) = (
                    VERBS[k % 40],
                    NOUNS[k // 40 % 60],
                    ADJS[k // 2400 % 25],
                    PLACES[k // 60000 % 20],
                )
                src, tgt = f"{ve} the {ae} {ne} {pe}", f"{vs} {ns} {_agree(as_, ns)} {ps}"
            elif r < 0.08:  # near duplicate: a number added
                src, tgt = f"{src} ({i % 7 + 2} items)", f"{tgt} ({i % 7 + 2} elementos)"
            elif r < 0.09:
                tgt = tgt.replace(" ", " %s ", 1) if "%" not in src else tgt
                src = src + " %d"
            elif r < 0.10:
                tgt = ""
            elif r < 0.11:
                tgt = src
            elif r < 0.12:
                tgt = tgt + " " + " ".join(["y además esto"] * 8)
            elif r < 0.14:
                tgt = f"Ouvrir le fichier {ae} et le dossier {ne} maintenant, puis fermer la fenêtre"
            f.write(json.dumps({"src": src, "tgt": tgt, "src_lang": "en", "tgt_lang": "es"}, ensure_ascii=False) + "\n")


SEED = 0
FILTER = dict(min_words=3, max_words=30, max_chars=300, max_length_ratio=3.0, language_id=True, max_similarity=0.8)


def run_polyalign(data: Path, out: Path, n_train: int, n_test: int) -> str:
    from polyalign.data.filters import PairFilter
    from polyalign.data.mixture_spec import MixtureSpec
    from polyalign.data.mixtures import build

    spec = MixtureSpec(
        builder="coit",
        languages=["es"],
        sources=[str(data)],
        instructions=["polyinstruct"],
        max_train_pairs=n_train,
        test_size=n_test,
        template="translate_v1",
        pair_filter=PairFilter(**FILTER),
        seed=SEED,
    )
    build(out, spec)
    train = sorted(
        r["id"]
        for r in map(json.loads, (out / "train.jsonl").open(encoding="utf-8"))
        if r["meta"]["task"] == "translation"
    )
    test = (out / "test_en-es.jsonl").read_text(encoding="utf-8")
    return hashlib.sha256((json.dumps(train) + test).encode()).hexdigest()


def run_plain(data: Path, out: Path, n_train: int, n_test: int) -> str:
    """The obvious way: everything in lists, every filter on every pair, one big sort."""
    from polyalign.data import filters
    from polyalign.data.filters import PairFilter
    from polyalign.data.pairs import check_pair, seeded_rank, translation_examples
    from polyalign.data.records import ParallelPair
    from polyalign.io import write_jsonl

    pairs = [
        ParallelPair(r["src"], r["tgt"], r["src_lang"], r["tgt_lang"], f"file:{data.name}")
        for r in (json.loads(line) for line in data.open(encoding="utf-8"))
    ]
    checked = [check_pair(p, PairFilter(**FILTER)) for p in pairs]
    clean = [p for reason, p in checked if reason is None]
    seen: set[str] = set()
    near: set[str] = set()
    unique = []
    for p in clean:
        k, nk = filters.dedup_key(p.src), filters.near_dup_key(p.src)
        if k in seen:
            continue
        seen.add(k)
        if nk in near:
            continue
        near.add(nk)
        unique.append(p)
    lid = filters.LanguageId()
    good = [p for p in unique if lid.matches(p.tgt, "es") and lid.matches(p.src, "en")]
    ranked = sorted(good, key=lambda p: seeded_rank(filters.dedup_key(p.src), SEED)[:8])
    similar = filters.SimilarTexts(0.8)  # no near-copies among the chosen, in rank order
    chosen = []
    for p in ranked:
        if len(chosen) == n_test + n_train:
            break
        if similar.add_if_new(p.src):
            chosen.append(p)
    test, train = chosen[:n_test], chosen[n_test:]
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "train.jsonl", translation_examples(train, "translate_v1"))
    write_jsonl(out / "test_en-es.jsonl", (p.to_json() for p in test))
    ids = sorted(r["id"] for r in map(json.loads, (out / "train.jsonl").open(encoding="utf-8")))
    return hashlib.sha256(
        (json.dumps(ids) + (out / "test_en-es.jsonl").read_text(encoding="utf-8")).encode()
    ).hexdigest()


def side(name: str, data: Path, n_train: int, n_test: int) -> None:
    out = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    t0, c0 = time.perf_counter(), time.process_time()
    digest = (run_polyalign if name == "polyalign" else run_plain)(data, out / "data", n_train, n_test)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux → MiB
    shutil.rmtree(out, ignore_errors=True)
    print(
        json.dumps(
            {
                "side": name,
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu, 2),
                "peak_rss_mib": round(peak, 1),
                "digest": digest,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=1_000_000)
    ap.add_argument("--train", type=int, default=20_000)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--side", choices=["polyalign", "plain"])
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.side:
        side(args.side, Path(args.data), args.train, args.test)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "pairs.jsonl"
        t0 = time.perf_counter()
        generate(data, args.pairs)
        print(
            f"generated {args.pairs:,} pairs ({data.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t0:.1f}s"
        )
        results = {}
        for name in ("polyalign", "plain"):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--side",
                    name,
                    "--data",
                    str(data),
                    "--train",
                    str(args.train),
                    "--test",
                    str(args.test),
                ],
                capture_output=True,
                text=True,
                env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
            )
            if proc.returncode != 0:
                sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
            r = results[name]
            print(
                f"{name:10s} {r['seconds']:8.2f} s wall  {r['cpu_seconds']:8.2f} s CPU   peak RSS "
                f"{r['peak_rss_mib']:8.1f} MiB"
            )
        same = results["polyalign"]["digest"] == results["plain"]["digest"]
        print(f"same selection: {same}")
        if not same:
            sys.exit("the two sides selected different pairs")
        print(f"ratio {results['plain']['seconds'] / results['polyalign']['seconds']:.2f}")


if __name__ == "__main__":
    main()

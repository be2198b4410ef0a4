"""Language fidelity with a candidate set: short, clear Spanish is Spanish, mixed sets give their
true share, and a restricted identifier never leaks into another call."""

from __future__ import annotations

import threading

import pytest

from polyalign import langs
from polyalign.eval.metrics import fidelity, fidelity_candidates, identify

# Short interface strings a user would try, written for this test: unmistakably Spanish to a reader.
SPANISH = [
    "¿Desea guardar los cambios?",
    "Contraseña incorrecta",
    "Abrir archivo reciente",
    "Cerrar todas las ventanas",
    "No se encontró el archivo",
    "Buscar y reemplazar",
    "Configuración de la cuenta",
    "Cerrar sesión",
    "Iniciar sesión con su cuenta",
    "Descargar la actualización",
    "Borrar el historial",
    "Añadir a favoritos",
    "Mostrar contraseña",
    "Nombre de usuario",
    "Elija una carpeta",
    "Imprimir la página actual",
    "Deshacer la última acción",
    "Seleccionar todo",
    "Pegar sin formato",
    "Cambiar el idioma",
    "Enviar el mensaje ahora",
    "Eliminar la conversación",
    "¿Está seguro de que quiere salir?",
    "Hoy no hay eventos",
    "Quedan tres días",
    "Reiniciar el equipo",
    "Conexión perdida",
    "Error al cargar la página",
    "Ayuda y comentarios",
    "Notificaciones nuevas",
    "Guardar como borrador",
    "Ver todas las fotos",
    "Compartir con amigos",
    "Apagar el sonido",
    "Buscar en la web",
    "Agregar una cuenta nueva",
    "Cambiar la contraseña",
    "Los archivos se están copiando",
    "Mañana por la mañana",
    "Tamaño de la fuente",
]
ENGLISH = [
    "Save changes?",
    "Wrong password",
    "Open recent file",
    "Close all windows",
    "File not found",
    "Find and replace",
    "Account settings",
    "Sign out",
    "Sign in with your account",
    "Download the update",
    "Clear history",
    "Add to favourites",
    "Show password",
    "User name",
    "Choose a folder",
    "Print the current page",
    "Undo the last action",
    "Select all",
    "Paste without formatting",
    "Change the language",
    "Send the message now",
    "Delete the conversation",
    "Are you sure you want to quit?",
    "No events today",
    "Three days left",
    "Restart the computer",
    "Connection lost",
    "Failed to load the page",
    "Help and feedback",
    "New notifications",
    "Save as draft",
    "See all photos",
    "Share with friends",
    "Mute the sound",
    "Search the web",
    "Add a new account",
    "Change the password",
    "The files are being copied",
    "Tomorrow morning",
    "Font size",
]


def test_forty_short_spanish_strings_are_spanish():
    assert len(SPANISH) == 40 and len(set(SPANISH)) == 40
    r = fidelity(SPANISH, "es")
    assert r["on_target_rate"] >= 0.90, r["counts"]
    assert "candidates:ar,bn,de,el,en,es," in r["signature"] and "gl" not in r["signature"].split("candidates:")[1]
    # A free choice among all 97 languages is what the candidate set fixes: it calls some Galician.
    free = fidelity(SPANISH, "es", candidates=None)
    assert free["on_target_rate"] < r["on_target_rate"] and "gl" in free["counts"]
    assert "candidates:all" in free["signature"]


@pytest.mark.parametrize("n_es", [24, 12, 36])
def test_mixed_sets_give_their_true_share(n_es):
    mixed = SPANISH[:n_es] + ENGLISH[n_es:]  # the same 40 messages, n_es in Spanish and the rest in English
    r = fidelity(mixed, "es")
    assert abs(r["on_target_rate"] - n_es / 40) <= 0.05, r["counts"]
    run = fidelity(mixed, "es", candidates=["en", "es", "fr", "de"])  # a run's set: its languages + English + drift
    assert abs(run["on_target_rate"] - n_es / 40) <= 0.05, run["counts"]


def test_the_target_is_always_a_candidate():
    assert fidelity_candidates("gl", ["en", "es"]) == frozenset({"en", "es", "gl"})
    assert fidelity_candidates("nb", ["en"]) == frozenset({"en", "nb", "nn", "no"})
    assert fidelity_candidates("es", None) is None
    assert fidelity(["Abrir o ficheiro"], "gl", ["en", "es"])["signature"].split("|")[3] == "candidates:en,es,gl"


def test_a_restricted_identifier_does_not_leak_across_calls_or_threads():
    text = "Abrir o ficheiro de configuración"  # Galician: only a set that holds gl can say so
    assert identify([text]) == ["gl"]
    assert identify([text], ["en", "es"]) == ["es"]
    assert identify([text]) == ["gl"]  # the full identifier is untouched
    assert identify([text], ["en", "pt"]) == ["pt"]
    assert langs.language_identifier(["en", "es"]) is langs.language_identifier(["es", "en"])  # one per set
    found: dict[str, list[str]] = {}

    def work(name: str, cands: list[str] | None) -> None:
        found[name] = [identify([text], cands)[0] for _ in range(30)]

    threads = [
        threading.Thread(target=work, args=(n, c))
        for n, c in (("all", None), ("es", ["en", "es"]), ("pt", ["en", "pt"]))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == {"all": ["gl"] * 30, "es": ["es"] * 30, "pt": ["pt"] * 30}


def test_langid_codes_constant_is_the_model():
    assert frozenset(langs._langid_model().nb_classes) == langs.LANGID_CODES
    assert set(langs.COMMON_LANGUAGES) <= langs.LANGID_CODES
    assert not {"gl", "ca", "oc", "an", "ast"} & set(langs.COMMON_LANGUAGES)
    from polyalign.io import InputError

    with pytest.raises(InputError, match="does not know 'xx'"):
        langs.language_identifier(["en", "xx"])

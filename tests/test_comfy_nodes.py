"""Every Civitai node run as ComfyUI runs it (shims of folder_paths, comfy.*, server) against the fake Civitai."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from civitai_companion.comfy import runtime
from civitai_companion.download.stream import part_path, state_path
from civitai_companion.refs import parse_ref
from tests.comfy_support import NODE_IDS, FakeClip, load_pack, require, shims
from tests.fake_civitai import make_safetensors
from tests.fake_civitai.shapes import air as air_of

TOKEN = "tok-3f9a1c77e2-not-for-workflows"


@pytest.fixture
def comfy(monkeypatch, tmp_path, fake_civitai):
    """A ComfyUI in tmp_path with an extra LoRA folder listed first (as extra_model_paths.yaml can)."""
    fake_civitai.token = TOKEN
    monkeypatch.setenv("CIVITAI_API_TOKEN", TOKEN)
    fp = shims.install_comfyui(monkeypatch, tmp_path / "ComfyUI")
    fp.add_extra_model_paths(tmp_path / "nas", {"loras": "loras", "checkpoints": "checkpoints"}, is_default=True)
    modules = shims.install_comfy_modules(monkeypatch)
    monkeypatch.setattr(runtime, "_known", {})
    hook_calls: list[tuple[int, int]] = []
    modules["comfy.utils"].set_progress_bar_global_hook(lambda value, total, preview, node_id=None:
                                                        hook_calls.append((value, total)))
    pack = load_pack(monkeypatch)

    class Env:
        pass

    env = Env()
    env.fp, env.fake, env.modules, env.nodes, env.hook_calls = fp, fake_civitai, modules, pack.NODE_CLASS_MAPPINGS, hook_calls
    env.loras = Path(fp.get_folder_paths("loras")[0])
    env.checkpoints = Path(fp.get_folder_paths("checkpoints")[0])
    return env


def api_requests(fake):
    return [r for r in fake.requests_to("api") if not r.path.startswith("/images/")]


def run(node_class, **inputs):
    """Run a node the way ComfyUI's executor does: an instance, then its FUNCTION with keyword inputs."""
    instance = node_class()
    out = getattr(instance, node_class.FUNCTION)(**inputs)
    return (out["result"], out["ui"]) if isinstance(out, dict) else (out, {})


def lora(fake, *, words=("amberfox", "sunlit"), size=4096, name="Amber Fox LoRA"):
    model = fake.add_model(name=name, type="LORA", base_model="SDXL 1.0", file_sizes=(size,), trained_words=words)
    version = model["modelVersions"][0]
    return model, {**version, "air": air_of(model, version), "modelId": model["id"]}


def first_version(model):
    version = model["modelVersions"][0]
    return {**version, "air": air_of(model, version)}


def lora_inputs(reference="", lora_name="(none)"):
    return {"model": "MODEL", "clip": "CLIP", "lora_name": lora_name, "reference": reference,
            "strength_model": 0.8, "strength_clip": 0.6}


# -- contracts -----------------------------------------------------------------------------------------------
def test_the_pack_exports_the_six_nodes_and_its_web_folder(comfy):
    pack = load_pack(pytest.MonkeyPatch(), "civitai_companion_pack_again")
    assert set(pack.NODE_CLASS_MAPPINGS) == NODE_IDS
    assert set(pack.NODE_DISPLAY_NAME_MAPPINGS) == NODE_IDS
    web = Path(pack.__file__).parent / pack.WEB_DIRECTORY
    assert [p.name for p in web.rglob("*.js")] == ["civitai_companion.js"]


@pytest.mark.parametrize("node_id", sorted(NODE_IDS))
def test_every_node_declares_a_complete_v1_contract(comfy, node_id):
    import inspect

    cls = comfy.nodes[node_id]
    spec = cls.INPUT_TYPES()
    assert set(spec) <= {"required", "optional", "hidden"} and spec["required"]
    assert cls.CATEGORY == "Civitai"
    assert len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES)
    inputs = {**spec["required"], **spec.get("optional", {})}
    parameters = inspect.signature(getattr(cls, cls.FUNCTION)).parameters
    assert set(inputs) <= set(parameters)
    for name, declared in inputs.items():
        assert not any(bad in name.lower() for bad in ("token", "key", "auth", "password")), name
        assert isinstance(declared[0], (str, list)), name
    for method in ("VALIDATE_INPUTS", "IS_CHANGED"):
        if hasattr(cls, method):
            assert set(inspect.signature(getattr(cls, method)).parameters) <= set(inputs) | {"_"}


def test_declared_outputs_are_what_the_issue_names(comfy):
    n = comfy.nodes
    assert n["CivitaiSearch"].RETURN_TYPES == ("INT", "INT", "STRING", "STRING", "STRING", "IMAGE")
    assert n["CivitaiSearch"].RETURN_NAMES == ("model_id", "version_id", "air", "name", "trained_words", "preview")
    assert n["CivitaiModelInfo"].RETURN_NAMES == ("trained_words", "model_name", "version_id", "url", "preview")
    assert n["CivitaiLoraLoader"].RETURN_TYPES == ("MODEL", "CLIP", "STRING")
    assert n["CivitaiCheckpointLoader"].RETURN_TYPES == ("MODEL", "CLIP", "VAE", "STRING")
    assert n["CivitaiDownload"].RETURN_TYPES == ("STRING",) and n["CivitaiDownload"].OUTPUT_NODE is True
    assert n["CivitaiPrompt"].RETURN_TYPES == ("STRING", "CONDITIONING")
    assert n["CivitaiPrompt"].INPUT_TYPES()["optional"]["trigger_words"] == ("STRING", {"forceInput": True})


def test_local_combos_list_every_folder_of_the_key(comfy):
    (comfy.loras / "mine.safetensors").parent.mkdir(parents=True)
    (comfy.loras / "mine.safetensors").write_bytes(b"x")
    default = Path(comfy.fp.get_folder_paths("loras")[1])
    default.mkdir(parents=True)
    (default / "old.safetensors").write_bytes(b"x")
    choices = comfy.nodes["CivitaiLoraLoader"].INPUT_TYPES()["required"]["lora_name"][0]
    assert choices == ["(none)", "mine.safetensors", "old.safetensors"]


def test_validate_inputs_lets_a_reference_through_and_says_what_is_wrong(comfy):
    loader = comfy.nodes["CivitaiLoraLoader"]
    assert loader.VALIDATE_INPUTS(lora_name="(none)", reference="urn:air:sdxl:lora:civitai:1@2") is True
    assert "not a Civitai URL" in loader.VALIDATE_INPUTS(lora_name="(none)", reference="https://example.com/x")
    assert "give a Civitai reference" in loader.VALIDATE_INPUTS(lora_name="gone.safetensors", reference="")
    assert comfy.nodes["CivitaiDownload"].VALIDATE_INPUTS(reference="") == "give a Civitai reference"
    # A linked reference (from CivitaiSearch's air) has no value yet when ComfyUI validates: checked at run time.
    assert loader.VALIDATE_INPUTS(lora_name="(none)") is True
    assert comfy.nodes["CivitaiDownload"].VALIDATE_INPUTS() is True
    assert comfy.fake.requests == []


def test_is_changed_is_the_same_for_every_spelling_of_a_version(comfy):
    keys = {comfy.nodes["CivitaiLoraLoader"].IS_CHANGED(lora_name="(none)", reference=ref)
            for ref in ("456", " urn:air:sdxl:lora:civitai:123@456", "https://civitai.com/models/123?modelVersionId=456",
                        "civitai:123@456")}
    assert keys == {"version:456"}
    assert comfy.nodes["CivitaiDownload"].IS_CHANGED(reference="https://civitai.com/models/123") == "model:123"


# -- on-demand downloads -------------------------------------------------------------------------------------
def test_lora_loader_downloads_into_the_first_lora_folder_and_applies_it(comfy):
    model, version = lora(comfy.fake)
    (result, ui) = run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(version["air"]))
    new_model, new_clip, words = result
    target = comfy.loras / version["files"][0]["name"]
    assert target.read_bytes() == comfy.fake.file_bytes(version["files"][0]["id"])
    assert str(target.parent).startswith(str(comfy.loras))  # the extra folder listed first, not models/loras
    assert (new_model.lora_file, new_model.strength, new_clip.strength) == (str(target), 0.8, 0.6)
    assert words == "amberfox, sunlit" and ui["trained_words"] == ["amberfox, sunlit"]
    assert ui["air"] == [version["air"]]
    assert comfy.hook_calls and comfy.hook_calls[-1][0] == comfy.hook_calls[-1][1]
    assert "Amber" in target.name or target.suffix == ".safetensors"


def test_a_downloaded_reference_costs_no_request_on_the_next_run_or_after_a_restart(comfy):
    _, version = lora(comfy.fake)
    run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(str(version["id"])))
    comfy.fake.clear_requests()
    run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(version["air"]))
    runtime._known.clear()  # a new ComfyUI process: the sidecar says which version the file is
    (_, _, words), _ = run(comfy.nodes["CivitaiLoraLoader"],
                           **lora_inputs(f"{comfy.fake.url}/models/{version['modelId']}?modelVersionId={version['id']}"))
    assert words == "amberfox, sunlit"
    assert comfy.fake.requests == []


def test_a_download_is_indexed_and_found_in_the_library_index_after_a_restart(comfy):
    require("torch")
    from civitai_companion.library.index import open_index
    from civitai_companion.library.sidecars import info_path

    _, version = lora(comfy.fake)
    (_, _, words), _ = run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(version["air"]))
    target = comfy.loras / version["files"][0]["name"]
    index = open_index()
    try:
        assert [row["path"] for row in index.by_version(version["id"])] == [str(target)]
    finally:
        index.close()
    info_path(target).unlink()  # no sidecar to fall back on: only the index knows the file now
    runtime._known.clear()
    comfy.fake.clear_requests()
    (_, _, again), ui = run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(str(version["id"])))
    info, _ = run(comfy.nodes["CivitaiModelInfo"], kind="loras", file=target.name)
    assert again == words == "amberfox, sunlit" and info[:3] == (words, "Amber Fox LoRA", str(version["id"]))
    assert comfy.fake.requests == []


def test_the_library_index_answers_before_any_sidecar_or_request(comfy, monkeypatch):
    comfy.loras.mkdir(parents=True)
    path = comfy.loras / "indexed.safetensors"
    path.write_bytes(make_safetensors(1024))
    row = {"path": str(path), "modelVersionId": 777, "modelId": 55, "modelName": "Indexed", "type": "LORA",
           "trainedWords": ["from the index"], "status": "resolved"}

    class Index:
        def by_version(self, version_id):
            return [row] if version_id == 777 else []

        def rows(self, *, paths=None, **_):
            return [row] if paths == [str(path)] else []

    monkeypatch.setattr(runtime, "open_library_index", Index)
    (_, _, words), _ = run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs("civitai:55@777"))
    result, _ = run(comfy.nodes["CivitaiModelInfo"], kind="loras", file="indexed.safetensors")
    assert words == "from the index"
    assert result[:4] == ("from the index", "Indexed", "777", f"{comfy.fake.url}/models/55?modelVersionId=777")
    assert comfy.fake.requests == []


def test_checkpoint_loader_downloads_the_model_file_not_the_vae(comfy):
    model = comfy.fake.models[comfy.fake.special["checkpoint_with_vae"]]
    version = first_version(model)
    (m, clip, vae, words), _ = run(comfy.nodes["CivitaiCheckpointLoader"], ckpt_name="(none)", reference=version["air"])
    primary = next(f for f in version["files"] if f.get("primary"))
    assert Path(m.path) == comfy.checkpoints / primary["name"]
    assert (clip.path, vae.path) == (m.path, m.path)
    assert Path(m.path).read_bytes() == comfy.fake.file_bytes(primary["id"])


def test_a_loader_refuses_a_reference_of_another_kind_and_names_the_right_node(comfy):
    model = comfy.fake.models[comfy.fake.special["checkpoint_with_vae"]]
    with pytest.raises(ValueError, match="CivitaiCheckpointLoader"):
        run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(str(model["modelVersions"][0]["id"])))
    assert not comfy.loras.exists() or list(comfy.loras.iterdir()) == []


def test_download_node_puts_each_type_where_comfyui_looks_and_the_file_type_wins(comfy):
    vae_model = comfy.fake.add_model(name="Lone VAE", type="VAE", file_sizes=(2048,))
    embedding = comfy.fake.add_model(name="Tiny Embedding", type="TextualInversion", file_sizes=(1024,))
    unet_only = comfy.fake.add_model(name="Bare UNet", type="Checkpoint", file_sizes=())
    version_id = unet_only["modelVersions"][0]["id"]
    comfy.fake.add_file(version_id, name="bare_unet.safetensors", type="Diffusion Model", primary=True, size=2048)
    paths = {}
    for label, ref in (("vae", first_version(vae_model)["air"]), ("embedding", first_version(embedding)["air"]),
                       ("file type", str(version_id))):
        (path,), ui = run(comfy.nodes["CivitaiDownload"], reference=ref)
        paths[label] = Path(path)
        assert ui["text"] == [path]
    assert paths["vae"].parent == Path(comfy.fp.get_folder_paths("vae")[0])
    assert paths["embedding"].parent == Path(comfy.fp.get_folder_paths("embeddings")[0])
    # a Checkpoint version whose file is a "Diffusion Model" goes where ComfyUI loads diffusion models
    assert paths["file type"] == Path(comfy.fp.get_folder_paths("diffusion_models")[0]) / "bare_unet.safetensors"


def test_cancel_mid_download_leaves_no_model_file_and_the_next_run_resumes(comfy, monkeypatch):
    _, version = lora(comfy.fake, size=3_000_000)
    comfy.fake.set_fault(version["id"], "slow", delay=0.01)
    mm = comfy.modules["comfy.model_management"]
    monkeypatch.setattr(runtime, "make_downloader", _small_chunks(runtime.make_downloader))
    pressed = threading.Event()

    def comfyui_hook(value, total, preview, node_id=None):
        """ComfyUI's own progress hook raises once Cancel was pressed; here Cancel is pressed mid-file."""
        if 0 < value < total and not pressed.is_set():
            pressed.set()
            mm.interrupt_current_processing(True)
        mm.throw_exception_if_processing_interrupted()

    comfy.modules["comfy.utils"].set_progress_bar_global_hook(comfyui_hook)
    with pytest.raises(mm.InterruptProcessingException):
        run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(version["air"]))
    assert not [t for t in threading.enumerate() if t.name == "civitai-download"]  # the download stopped too
    target = comfy.loras / version["files"][0]["name"]
    assert not target.exists() and part_path(target).exists()
    assert sorted(p.name for p in comfy.loras.iterdir()) == [part_path(target).name, state_path(target).name]
    assert comfy.fp.get_filename_list("loras") == []  # ComfyUI lists no half file
    assert mm.processing_interrupted() is False  # the flag is ComfyUI's to reset, and was
    comfy.fake.clear_faults()
    (new_model, _, _), _ = run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(version["air"]))
    assert target.read_bytes() == comfy.fake.file_bytes(version["files"][0]["id"])
    assert not part_path(target).exists() and not state_path(target).exists()
    assert comfy.fake.requests_to("storage")[-1].headers.get("Range")  # resumed, not started over


def _small_chunks(make):
    def build(client=None):
        downloader = make(client)
        downloader.chunk_size = 64 * 1024
        return downloader
    return build


def test_a_bad_reference_is_one_clear_line(comfy):
    with pytest.raises(ValueError) as caught:
        run(comfy.nodes["CivitaiDownload"], reference="urn:air:sdxl:lora:huggingface:1@2")
    assert "not Civitai" in str(caught.value) and "\n" not in str(caught.value)


# -- search, info, prompt ------------------------------------------------------------------------------------
def test_search_gives_the_nth_result_with_its_preview(comfy):
    require("torch")
    model = comfy.fake.add_model(name="Zebra Quokka Style", type="LORA", trained_words=["zq style"])
    (model_id, version_id, air, name, words, preview), ui = run(
        comfy.nodes["CivitaiSearch"], query="Zebra Quokka", type="LORA", base_model="", sort="Newest",
        period="AllTime", nsfw=False, index=0)
    assert (model_id, version_id, name, words) == (model["id"], model["modelVersions"][0]["id"], model["name"], "zq style")
    assert parse_ref(air).version_id == version_id  # list answers carry no AIR: the short form is one
    assert tuple(preview.shape)[0] == 1 and tuple(preview.shape)[3] == 3 and tuple(preview.shape)[1] > 1
    shown = Path(comfy.fp.get_temp_directory()) / ui["images"][0]["filename"]
    assert shown.read_bytes()[:8] in (b"\x89PNG\r\n\x1a\n",) or shown.read_bytes()[:3] == b"\xff\xd8\xff"
    with pytest.raises(ValueError, match="past the end"):
        run(comfy.nodes["CivitaiSearch"], query="Zebra Quokka", type="LORA", base_model="", sort="Newest",
            period="AllTime", nsfw=False, index=5)


def test_model_info_resolves_a_local_file_by_hash_once(comfy):
    require("torch")
    _, version = lora(comfy.fake, words=("hashed word",))
    comfy.loras.mkdir(parents=True)
    (comfy.loras / "renamed.safetensors").write_bytes(comfy.fake.file_bytes(version["files"][0]["id"]))
    result, ui = run(comfy.nodes["CivitaiModelInfo"], kind="loras", file="renamed.safetensors")
    assert result[:4] == ("hashed word", "Amber Fox LoRA", str(version["id"]),
                          f"{comfy.fake.url}/models/{version['modelId']}?modelVersionId={version['id']}")
    assert any("by-hash" in r.path for r in api_requests(comfy.fake))
    assert ui["trained_words"] == ["hashed word"]
    comfy.fake.clear_requests()
    again, _ = run(comfy.nodes["CivitaiModelInfo"], kind="loras", file="renamed.safetensors")
    assert again[:4] == result[:4] and comfy.fake.requests == []


def test_prompt_adds_each_trained_word_once_and_encodes_with_a_clip(comfy):
    prompt = comfy.nodes["CivitaiPrompt"]
    (text, cond), _ = run(prompt, text="a fox, Sunlit", position="prepend", trigger_words="amberfox, sunlit",
                          trigger_words_2="AMBERFOX, (glow:1.2)")
    assert (text, cond) == ("amberfox, (glow:1.2), a fox, Sunlit", None)
    clip = FakeClip()
    (text, cond), _ = run(prompt, text="a fox", position="append", trigger_words="amberfox", clip=clip)
    assert text == "a fox, amberfox" and clip.texts == ["a fox, amberfox"] and cond == [["cond", {"text": text}]]
    (text, _), _ = run(prompt, text="", position="append")
    assert text == ""


# -- the token -----------------------------------------------------------------------------------------------
def test_the_token_is_in_no_input_output_ui_message_or_example_workflow(comfy):
    require("torch")
    _, version = lora(comfy.fake)
    outputs = []
    outputs.append(run(comfy.nodes["CivitaiLoraLoader"], **lora_inputs(version["air"])))
    outputs.append(run(comfy.nodes["CivitaiDownload"], reference=str(version["id"])))
    outputs.append(run(comfy.nodes["CivitaiSearch"], query="Amber Fox", type="LORA", base_model="", sort="Newest",
                       period="AllTime", nsfw=False, index=0))
    outputs.append(run(comfy.nodes["CivitaiModelInfo"], kind="loras", file=version["files"][0]["name"]))
    outputs.append(run(comfy.nodes["CivitaiPrompt"], text="x", position="append", trigger_words="y"))
    text = repr(outputs) + json.dumps([n.INPUT_TYPES() for n in comfy.nodes.values()], default=str)
    for example in (Path(__file__).resolve().parent.parent / "examples").glob("*.json"):
        text += example.read_text(encoding="utf-8")
    for sidecar in comfy.loras.iterdir():
        text += sidecar.read_bytes().decode("latin-1")
    assert TOKEN not in text
    assert all(TOKEN not in json.dumps(r.query) for r in comfy.fake.requests)
    assert all("Authorization" not in r.headers for r in comfy.fake.requests_to("storage"))
    assert any(r.headers.get("Authorization") == f"Bearer {TOKEN}" for r in comfy.fake.requests_to("api"))

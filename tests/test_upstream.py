"""ser.features.upstream on tiny random models of every family, saved as Hugging Face folders and read
through the real loading path: features equal a direct transformers call, batching and
chunking change no value, every broken folder gets its one line, and nothing asks the network.

Tolerances: 1e-5 absolute between two float32 computations of the same hidden states (batched
against one at a time, ours against transformers' own feature extractor and model; observed
below 5e-7 on these models), float16 rounding (1e-3 relative) for the frames output."""
import hashlib
import shutil
import socket
import struct
import warnings

import numpy as np
import pytest
import torch

from ser.errors import UserError
from ser.features import upstream as up
from ser.synthetic.synth_upstream import save_random_upstream

# name -> the checkpoint it imitates: front end, preprocessor
KINDS = {
    "wav2vec2": dict(family="wav2vec2"),                                    # wav2vec2-base: group, normalize
    "hubert": dict(family="hubert", do_normalize=False),                    # hubert-base-ls960
    "wavlm": dict(family="wavlm", do_normalize=False, return_attention_mask=True),  # wavlm-base-plus
    "data2vec": dict(family="data2vec-audio"),                              # data2vec-audio-base: layer, mask
    "wavlm-large": dict(family="wavlm", front_end="layer"),                 # wavlm-large: layer, mask
    "hubert-large": dict(family="hubert", front_end="layer"),               # hubert-large-ll60k
}
ATOL = 1e-5


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("upstreams")
    return {name: save_random_upstream(base / name, **spec) for name, spec in KINDS.items()}


@pytest.fixture(scope="module")
def loaded(folders):
    return {name: up.load_upstream(folder) for name, folder in folders.items()}


@pytest.fixture(scope="module")
def wavs():
    rng = np.random.default_rng(0)
    # two pairs of equal lengths (batched together by every family) and two odd ones
    return [(0.1 * rng.standard_normal(n) + 0.05).astype(np.float32) for n in (4000, 6000, 4000, 2500, 6000, 7001)]


def direct(folder, wav):
    """Hidden states as transformers' own feature extractor and model give them."""
    import transformers
    extractor = transformers.Wav2Vec2FeatureExtractor.from_pretrained(folder)
    model = transformers.AutoModel.from_pretrained(folder).eval()
    inputs = extractor(wav, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # WavLM's boolean mask beside its float bias
        return model(**inputs, output_hidden_states=True).hidden_states, inputs


@pytest.mark.parametrize("name", KINDS)
def test_features_equal_a_direct_transformers_call(name, folders, loaded, wavs):
    ups = loaded[name]
    expected, inputs = direct(folders[name], wavs[1])
    assert ("attention_mask" in inputs) == ups.inputs.return_attention_mask
    got = ups.hidden_states([wavs[1]])[0]
    assert got.shape == (ups.num_hidden_states, expected[0].shape[1], ups.identity.hidden_size)
    for k, state in enumerate(expected):
        torch.testing.assert_close(got[k], state[0], atol=ATOL, rtol=0)
    pooled = ups.pooled([wavs[1]])[0]
    assert pooled.dtype == np.float32 and pooled.shape == (ups.num_hidden_states, ups.identity.hidden_size)
    np.testing.assert_allclose(pooled, torch.stack([s[0].mean(0) for s in expected]).numpy(), atol=ATOL)
    frames = ups.frames([wavs[1]], layer=ups.identity.num_layers)[0]
    assert frames.dtype == np.float16
    np.testing.assert_allclose(frames.astype(np.float32), expected[-1][0].numpy(), rtol=1e-3, atol=1e-3)


def test_normalisation_is_the_feature_extractors(folders, wavs):
    import transformers
    extractor = transformers.Wav2Vec2FeatureExtractor.from_pretrained(folders["wav2vec2"])
    for wav in wavs[:3]:
        expected = extractor(wav, sampling_rate=16000, return_tensors="np").input_values[0]
        np.testing.assert_array_equal(up.normalize(wav), expected)


def count_batches(ups):
    shapes = []
    hook = ups.model.register_forward_pre_hook(lambda module, args, kwargs: shapes.append(
        tuple(kwargs.get("input_values", args[0] if args else None).shape)), with_kwargs=True)
    return shapes, hook


@pytest.mark.parametrize("name", KINDS)
def test_batched_equals_one_at_a_time(name, loaded, wavs):
    ups = loaded[name]
    shapes, hook = count_batches(ups)
    try:
        together = ups.hidden_states(wavs)
    finally:
        hook.remove()
    # the batching happened: fewer forward passes than utterances, and only exact ones
    assert len(shapes) < len(wavs)
    if not ups.pads_exactly:
        assert sorted(s[1] for s in shapes for _ in range(s[0])) == sorted(len(w) for w in wavs)
    for wav, states in zip(wavs, together):
        torch.testing.assert_close(states, ups.hidden_states([wav])[0], atol=ATOL, rtol=0)


def test_which_front_ends_pad(loaded):
    assert {name for name, ups in loaded.items() if ups.pads_exactly} == {"wavlm-large", "hubert-large"}


@pytest.mark.parametrize("name", ["wav2vec2", "data2vec"])
def test_padding_would_change_the_values_it_is_not_allowed_for(name, loaded, wavs):
    """Why only equal lengths batch there: forcing padding (with the mask where the checkpoint
    has one) moves every frame of the shorter utterance (group norm), or its frames near the
    end (data2vec's stacked positional convolutions)."""
    ups = loaded[name]
    alone = ups.hidden_states([wavs[0]])[0]
    ups.pads_exactly = True
    try:
        padded = ups.hidden_states([wavs[0], wavs[1]])[0]
    finally:
        ups.pads_exactly = False
    assert (padded - alone).abs().max() > 1e-2


def test_long_utterances_are_cut_into_equal_chunks(folders, wavs):
    ups = up.load_upstream(folders["wav2vec2"], max_seconds=0.3)  # 4800 samples
    long = np.concatenate(wavs[:3])  # 14000 samples: three chunks of 4666-4667
    bounds = up.chunk_bounds(len(long), ups.max_samples)
    assert [b - a for a, b in bounds] == [4667, 4666, 4667] and bounds[0][0] == 0 and bounds[-1][1] == len(long)
    states = ups.hidden_states([long])[0]
    normalised = up.normalize(long)  # the whole utterance, before it is cut
    whole = up.load_upstream(folders["wav2vec2"])
    whole.inputs = up.InputSettings(do_normalize=False)
    expected = torch.cat([whole.hidden_states([normalised[a:b]])[0] for a, b in bounds], dim=1)
    torch.testing.assert_close(states, expected, atol=ATOL, rtol=0)
    assert states.shape[1] == sum(ups.frames_for(b - a) for a, b in bounds)
    np.testing.assert_allclose(ups.pooled([long])[0], expected.mean(1).numpy(), atol=ATOL)
    assert up.chunk_bounds(4800, 4800) == [(0, 4800)] and len(up.chunk_bounds(4801, 4800)) == 2


def test_one_layer_runs_only_the_layers_below_it(loaded, wavs):
    ups = loaded["wavlm"]
    every = ups.hidden_states(wavs[:2])
    depth = []
    hook = ups.model.encoder.register_forward_pre_hook(lambda module, args: depth.append(len(module.layers)))
    try:
        for layer in (0, 1):
            for states, all_layers in zip(ups.hidden_states(wavs[:2], [layer]), every):
                assert torch.equal(states[0], all_layers[layer])
    finally:
        hook.remove()
    # two lengths, two passes per layer asked; the full stack is back afterwards
    assert depth == [1] * 4 and len(ups.model.encoder.layers) == ups.identity.num_layers


def test_identity_and_its_hash(folders, loaded, monkeypatch):
    ups = loaded["hubert"]
    weights = folders["hubert"] / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert ups.identity == up.UpstreamIdentity("hubert", "hubert", digest, 2, 32)
    assert ups.identity.label() == f"hubert (hubert, {ups.identity.weights_sha256[:8]})"
    hashed = []
    real = hashlib.file_digest
    monkeypatch.setattr(hashlib, "file_digest", lambda *a: hashed.append(a) or real(*a))
    assert up.upstream_identity(folders["hubert"]) == ups.identity
    assert hashed == []  # known file: not hashed again
    import transformers
    assert ups.key_fields() == {**ups.identity.as_dict(), "sampling_rate": 16000, "do_normalize": False,
                                "return_attention_mask": False, "max_samples": 480000,
                                "transformers": transformers.__version__}
    copy = shutil.copytree(folders["hubert"], folders["hubert"].parent / "hubert-copy")
    assert up.upstream_identity(copy).weights_sha256 == ups.identity.weights_sha256 and len(hashed) == 1


def test_torch_weights_file(tmp_path, wavs):
    folder = save_random_upstream(tmp_path / "bin", "hubert", safetensors=False)
    assert not (folder / "model.safetensors").exists()
    ups = up.load_upstream(folder)
    assert ups.identity.weights_sha256 == hashlib.sha256((folder / "pytorch_model.bin").read_bytes()).hexdigest()
    expected, _ = direct(folder, wavs[0])
    torch.testing.assert_close(ups.hidden_states([wavs[0]])[0][-1], expected[-1][0], atol=ATOL, rtol=0)


def test_nothing_asks_the_network(folders, monkeypatch):
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network used")
    for name in ("getaddrinfo", "create_connection"):
        monkeypatch.setattr(socket, name, refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    ups = up.load_upstream(folders["data2vec"])
    assert ups.identity.family == "data2vec-audio" and attempts == []


def broken(folders, tmp_path, name="wav2vec2"):
    return shutil.copytree(folders[name], tmp_path / name)


def refusal(folder) -> str:
    with pytest.raises(up.UpstreamError) as caught:
        up.load_upstream(folder)
    message = str(caught.value)
    assert isinstance(caught.value, UserError) and "\n" not in message
    return message


def test_missing_files_are_named(folders, tmp_path):
    assert "does not exist" in refusal(tmp_path / "nowhere")
    for name in ("config.json", "preprocessor_config.json"):
        folder = broken(folders, tmp_path / name)
        (folder / name).unlink()
        assert f"has no {name}" in refusal(folder)
    folder = broken(folders, tmp_path / "weights")
    (folder / "model.safetensors").unlink()
    assert "has no weights file (model.safetensors or pytorch_model.bin)" in refusal(folder)


def test_another_kind_of_model(folders, tmp_path):
    folder = broken(folders, tmp_path)
    (folder / "config.json").write_text('{"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2}')
    assert "describes a 'bert' model" in refusal(folder)
    (folder / "config.json").write_text("{not json")
    assert "config.json is not valid JSON (line 1" in refusal(folder)


def test_weights_of_another_model(folders, tmp_path):
    folder = broken(folders, tmp_path)
    shutil.copy(folders["data2vec"] / "model.safetensors", folder / "model.safetensors")
    message = refusal(folder)
    assert "does not hold the weights of the wav2vec2 model config.json describes" in message


def test_truncated_weights(folders, tmp_path):
    folder = broken(folders, tmp_path / "safe")
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    weights.write_bytes(weights.read_bytes()[:size - 100])
    assert f"is truncated: {size - 100} bytes where its header promises {size}" in refusal(folder)
    weights.write_bytes(struct.pack("<Q", 10 ** 9) + b"{}")
    assert "is not a safetensors file or is truncated" in refusal(folder)
    folder = save_random_upstream(tmp_path / "bin", "hubert", safetensors=False)
    weights = folder / "pytorch_model.bin"
    weights.write_bytes(weights.read_bytes()[:-200])
    assert "pytorch_model.bin is truncated or is not a PyTorch checkpoint" in refusal(folder)


def test_other_sampling_rate_is_refused(folders, tmp_path, loaded, wavs):
    folder = broken(folders, tmp_path)
    described = folder / "preprocessor_config.json"
    described.write_text(described.read_text().replace('"sampling_rate": 16000', '"sampling_rate": 8000'))
    assert "says sampling_rate 8000; the upstreams here take 16000 Hz" in refusal(folder)
    ups = loaded["wav2vec2"]
    with pytest.raises(up.UpstreamInputError, match="audio at 8000 Hz"):
        ups.pooled(wavs[:1], sample_rate=8000)
    with pytest.raises(up.UpstreamInputError, match=r"104 samples \(6.5 ms\) is shorter than the 105 samples"):
        ups.pooled([np.ones(104, np.float32)])
    with pytest.raises(up.UpstreamInputError, match="layer 3 does not exist"):
        ups.frames(wavs[:1], layer=3)


def test_extraction_benchmark_rows(folders, wavs):
    from ser.runners import upstream_bench
    logged = []
    rows = upstream_bench.run_extraction_benchmark(folders["wav2vec2"], wavs[:3], isolate=False, rounds=2,
                                                   log=logged.append)
    assert len(logged) == 2 * len(rows) and logged[len(rows)].startswith("ours_frames_mid")  # backwards
    assert [r.method for r in rows] == list(upstream_bench.METHODS)
    for row in rows:
        assert row.utterances == 3 and row.seconds > 0 and row.utterances_per_s > 0 and row.peak_rss_mib > 0
        assert row.real_time_factor == pytest.approx(row.seconds / (sum(len(w) for w in wavs[:3]) / 16000))
    diffs = {r.method: r.max_diff_vs_pooled for r in rows}
    # Nkululeko's loop computes what ours does; float16 frames round; EmoBox's output is normed
    assert diffs["nkululeko"] < ATOL and diffs["ours_frames"] < 1e-2 and diffs["emobox"] is None
    table = upstream_bench.markdown(rows, {"upstream": "tiny"}, upstream_bench.environment(1))
    assert table.count("\n| ") == len(rows) + 1

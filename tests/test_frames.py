"""ser.training.frames: an upstream's frames kept ragged and padded per batch. Indexing keeps each
utterance's frames; a batch is what padding the whole corpus to its longest utterance
(``models.ssl.pack_frames``, the split's padding before) gives, trimmed to the batch's longest;
``ssl_mlp`` computes the same loss on either within float rounding; and what is stored is the
sum of the utterances' frames, not N × the longest."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.ssl import SslMlp, pack_frames
from ser.features.ssl_kind import FRAMES, SslSettings
from ser.training.dataset import TestUtterances, stack_segments
from ser.training.frames import DeviceFrames, FrameSequences, rows_on_device

D = 6
LENGTHS = (3, 1, 7, 2, 5)
# Per-batch padding sums over fewer zero frames than corpus padding: the loss may differ by the
# rounding of those sums and of matmuls of another shape, no more.
LOSS_RTOL = 1e-6


def entries(lengths=LENGTHS, seed=0) -> list[np.ndarray]:
    """Cache entries of one layer's frames: (T, D) float16."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(t, D)).astype(np.float16) for t in lengths]


def corpus_padded(utterances: list[np.ndarray]) -> np.ndarray:
    """(N, longest, D + 1): the whole corpus padded to its longest utterance, as the split padded it before."""
    return pack_frames([u.astype(np.float32) for u in utterances])


def test_an_utterance_gives_its_model_input_and_indexing_keeps_each_utterance():
    utterances = entries()
    settings = SslSettings(output=FRAMES, layer=1, hidden_size=D)
    assert settings.ragged and not SslSettings(hidden_size=D).ragged  # frames, not pooled layers
    for entry in utterances:  # exactly the values a model input of the utterance has
        np.testing.assert_array_equal(FrameSequences.of([entry]).padded(), settings.model_input(entry))
    X = stack_segments([FrameSequences.of([e]) for e in utterances], np.arange(len(LENGTHS)), (1, D + 1)).X
    assert isinstance(X, FrameSequences) and X.frames.dtype == np.float16
    assert len(X) == len(LENGTHS) and X.shape == (len(LENGTHS), max(LENGTHS), D + 1)
    whole = corpus_padded(utterances)
    np.testing.assert_array_equal(X.padded(), whole)
    for index in (slice(1, 4), np.array([4, 0, 4, 2]), np.array([True, False, False, True, True]), slice(3, 3)):
        chosen = np.arange(len(LENGTHS))[index]
        subset = X[index]
        np.testing.assert_array_equal(subset.lengths, np.array(LENGTHS)[chosen])
        np.testing.assert_array_equal(subset.padded(), whole[chosen][:, :subset.longest])
    np.testing.assert_array_equal(X[np.array([1, 3])].padded(length=9), pack_frames(
        [utterances[1].astype(np.float32), utterances[3].astype(np.float32)], length=9))
    with pytest.raises(ValueError, match="shorter than an utterance"):
        X.padded(length=6)
    test = TestUtterances.from_lists([FrameSequences.of([e]) for e in utterances], [0] * 5, list("abcde"), (1, D + 1))
    np.testing.assert_array_equal(test.X[test.owner == 2].padded(), whole[2:3])


def test_a_batch_on_the_device_is_the_corpus_padding_trimmed_to_its_longest():
    utterances = entries()
    X = DeviceFrames(FrameSequences.of(utterances), "cpu")
    whole = torch.from_numpy(corpus_padded(utterances))
    assert len(X) == len(LENGTHS)
    for index in (torch.tensor([0, 3, 1]), torch.tensor([[4, 0], [1, 1], [3, 2]]), torch.tensor([1])):
        batch = X[index]
        longest = max(LENGTHS[i] for i in index.flatten().tolist())
        assert batch.shape == (*index.shape, longest, D + 1) and batch.dtype == torch.float32
        assert torch.equal(batch, whole[index][..., :longest, :])  # frames exact, padding 0, mask 0 on padding
        assert torch.equal(batch[..., -1].sum(-1), torch.tensor(LENGTHS)[index].float())
    assert torch.equal(X[1:4], whole[1:4, :7])
    assert X[torch.zeros(0, dtype=torch.int64)].shape == (0, 0, D + 1)
    dense = np.ones((2, 3, 4), np.float32)  # every other kind's arrays: the tensor the engines always made
    assert torch.equal(rows_on_device(dense, "cpu"), torch.from_numpy(dense))


@pytest.mark.parametrize("utterance_norm", [False, True])
def test_ssl_mlp_loss_on_a_batch_padded_to_its_longest_equals_the_corpus_padded_one(utterance_norm):
    utterances = entries(lengths=(40, 3, 17, 9, 25, 120, 4, 11), seed=1)
    torch.manual_seed(0)
    model = SslMlp((1, D + 1), num_classes=4, hidden_dim=16, utterance_norm=utterance_norm)
    ragged, whole = DeviceFrames(FrameSequences.of(utterances), "cpu"), torch.from_numpy(corpus_padded(utterances))
    target = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    for index in (torch.tensor([0, 1, 2, 3]), torch.tensor([6, 1, 7, 3]), torch.arange(8)):
        losses, grads = [], []
        for x in (ragged[index], whole[index]):
            model.zero_grad()
            loss = F.cross_entropy(model(x.unsqueeze(1)), target[index])
            loss.backward()
            losses.append(loss.item())
            grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
        assert losses[0] == pytest.approx(losses[1], rel=LOSS_RTOL, abs=0)
        torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-7)


def test_the_stored_frames_are_the_sum_of_the_lengths_not_n_times_the_longest():
    """One 20-second utterance among 200 of a second: the training array stored dense and padded
    held 201 × 1,000 frames; ragged it holds about 1,200."""
    lengths = [1000] + [1] * 200
    train = stack_segments([FrameSequences.of([e]) for e in entries(lengths)], np.zeros(201, np.int64), (1, D + 1))
    assert train.X.frames.shape == (sum(lengths), D) and train.X.frames.dtype == np.float16
    stored = train.X.frames.nbytes + train.X.starts.nbytes
    assert stored < 1.1 * sum(lengths) * D * 2 + 8 * 202
    assert stored * 50 < len(lengths) * max(lengths) * (D + 1) * 4  # what the dense float32 array took
    on_device = rows_on_device(train.X, "cpu")
    assert on_device.frames.numel() == sum(lengths) * D and on_device[torch.arange(1, 33)].shape == (32, 1, D + 1)


def test_the_original_pickle_holds_the_frames_padded_to_the_longest_of_both_parts(tmp_path):
    from ser.runs.data import load_original_pickle, save_original_pickle
    utterances = entries()
    train = stack_segments([FrameSequences.of([u]) for u in utterances[:2]], [0, 1], (1, D + 1))
    test = TestUtterances.from_lists([FrameSequences.of([u]) for u in utterances[2:]], [1, 0, 1], list("abc"),
                                     (1, D + 1))
    save_original_pickle(str(tmp_path / "f.pkl"), train, test, "info")
    loaded_train, loaded_test, _ = load_original_pickle(str(tmp_path / "f.pkl"))
    whole = corpus_padded(utterances)  # the longest (7 frames) is a test utterance
    np.testing.assert_array_equal(loaded_train.X, whole[:2])
    np.testing.assert_array_equal(loaded_test.X, whole[2:])

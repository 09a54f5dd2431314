"""Utterance-level scores."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import classification_report, confusion_matrix

from ser.training.metrics import confusion, report_text, score


def test_scores_by_hand():
    y_true = [0, 0, 0, 0, 1, 1, 2, 3]
    y_pred = [0, 0, 0, 1, 1, 2, 2, 3]
    s = score(y_true, y_pred)
    assert s.WA == pytest.approx(100 * 6 / 8)
    # recalls: 3/4, 1/2, 1, 1
    assert s.UA == pytest.approx(100 * (0.75 + 0.5 + 1 + 1) / 4)
    # F1: class0 p=1 r=.75 -> 6/7; class1 p=.5 r=.5 -> .5; class2 p=.5 r=1 -> 2/3; class3 1
    f1 = [6 / 7, 0.5, 2 / 3, 1.0]
    assert s.macro_f1 == pytest.approx(100 * np.mean(f1))
    assert s.weighted_f1 == pytest.approx(100 * np.average(f1, weights=[4, 2, 1, 1]))
    assert s.selection == pytest.approx((s.WA + s.UA) / 2)


def test_missing_class_does_not_crash_and_averages_over_present_classes():
    s = score([0, 0, 1], [0, 1, 1])
    assert s.UA == pytest.approx(100 * (0.5 + 1) / 2)


def test_report_uses_correct_class_names_and_full_confusion():
    names = ["neutral", "sad", "angry", "happy(excited)"]
    text = report_text([0, 1, 2], [0, 1, 1], names)
    assert "neutral" in text and "sad" in text and "angry" in text and "happy(excited)" not in text
    np.testing.assert_array_equal(confusion([0, 1, 2], [0, 1, 1], 4),
                                  [[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=60))
def test_scores_and_report_are_scikit_learns_to_the_last_bit(pairs):
    """The numbers the original computes with scikit-learn, exactly (the .metric line prints
    them in full), and its report's text."""
    y_true, y_pred = map(list, zip(*pairs))
    theirs = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    ours = score(y_true, y_pred)
    assert ours.WA == 100 * theirs["accuracy"] and ours.UA == 100 * theirs["macro avg"]["recall"]
    assert ours.macro_f1 == 100 * theirs["macro avg"]["f1-score"]
    assert ours.weighted_f1 == 100 * theirs["weighted avg"]["f1-score"]
    names = ["neutral", "sad", "angry", "happy(excited)", "a much longer class name"]
    present = sorted(set(y_true) | set(y_pred))
    assert report_text(y_true, y_pred, names) == classification_report(
        y_true, y_pred, labels=present, digits=6, zero_division=0, target_names=[names[i] for i in present])
    np.testing.assert_array_equal(confusion(y_true, y_pred, 5), confusion_matrix(y_true, y_pred, labels=range(5)))

"""The stand-in models (`localrun/standin_model.py`) on their own: one per Hugging Face task, answering in
that task's response shape and refusing what the Hugging Face container would refuse.

Pure Python: the shipped samples are the images, no emulator is started.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pytest

from localrun.standin_model import (
    STAND_INS,
    ImageHeader,
    InvalidModelInput,
    NoStandIn,
    StandInImageClassifier,
    StandInImageFeatureExtractor,
    StandInTextClassifier,
    read_image,
    stand_in_for,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SUNSET_PNG = (SAMPLES / "sunset.png").read_bytes()  # 64 x 40
PORTRAIT_JPEG = (SAMPLES / "portrait.jpg").read_bytes()  # 40 x 64


def _png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size, built with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


def test_image_classifier_answers_five_labels_with_scores_best_first() -> None:
    answer = StandInImageClassifier().predict(SUNSET_PNG, "image/png")
    assert [set(a) for a in answer] == [{"label", "score"}] * 5
    scores = [a["score"] for a in answer]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s < 1 for s in scores)
    assert len({a["label"] for a in answer}) == 5


@pytest.mark.parametrize(
    ("image", "content_type", "label"),
    [
        (SUNSET_PNG, "image/png", "landscape graphic"),
        (PORTRAIT_JPEG, "image/jpeg", "portrait photo"),
        (_png(30, 30), "image/png", "square graphic"),
    ],
)
def test_image_classifier_labels_by_the_header_orientation_and_format(
    image: bytes, content_type: str, label: str
) -> None:
    assert StandInImageClassifier().predict(image, content_type)[0]["label"] == label


def test_image_classifier_gives_the_same_answer_for_the_same_image() -> None:
    model = StandInImageClassifier()
    assert model.predict(PORTRAIT_JPEG, "image/jpeg") == model.predict(PORTRAIT_JPEG, "image/jpeg")


def test_image_is_decoded_by_its_bytes_whatever_image_type_it_is_sent_as() -> None:
    # The container picks PIL's decoder by content type, and PIL reads the format from the bytes.
    assert StandInImageClassifier().predict(SUNSET_PNG, "image/jpeg")[0]["label"] == "landscape graphic"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (SUNSET_PNG, "application/octet-stream", "Content type application/octet-stream is not supported"),
        (SUNSET_PNG, "text/plain", "Content type text/plain is not supported"),
        (b'{"inputs": "a sunset"}', "application/json", "Incorrect image source"),
        (b"this holds text, not an image", "image/jpeg", "cannot identify image file"),
        (SUNSET_PNG[:-20], "image/png", "broken PNG file"),
        (PORTRAIT_JPEG[:-30], "image/jpeg", "truncated"),
        (b"II*\x00" + b"\x00" * 20, "image/tiff", "does not read TIFF"),
    ],
)
def test_image_classifier_refuses_what_the_container_cannot_decode(
    body: bytes, content_type: str, message: str
) -> None:
    with pytest.raises(InvalidModelInput, match=message):
        StandInImageClassifier().predict(body, content_type)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"GIF89a" + struct.pack("<HH", 12, 7) + b"\x00" * 8, ImageHeader("GIF", 12, 7)),
        (b"BM" + b"\x00" * 16 + struct.pack("<ii", 9, -4) + b"\x00" * 8, ImageHeader("BMP", 9, 4)),
        (
            b"RIFF\x00\x00\x00\x00WEBPVP8X"
            + b"\x00" * 8
            + (19).to_bytes(3, "little")
            + (9).to_bytes(3, "little"),
            ImageHeader("WEBP", 20, 10),
        ),
    ],
)
def test_image_size_is_read_from_gif_bmp_and_webp_headers(header: bytes, expected: ImageHeader) -> None:
    assert read_image(header) == expected


def test_image_feature_extractor_answers_vit_base_hidden_states_larger_than_an_item() -> None:
    answer = StandInImageFeatureExtractor().predict(SUNSET_PNG, "image/png")
    assert (len(answer), len(answer[0]), len(answer[0][0])) == (1, 197, 768)
    assert len(json.dumps(answer, separators=(",", ":"))) > 400 * 1024  # DynamoDB's item limit
    assert answer == StandInImageFeatureExtractor().predict(SUNSET_PNG, "image/png")


def test_image_feature_extractor_refuses_bytes_that_are_not_an_image() -> None:
    with pytest.raises(InvalidModelInput, match="cannot identify image file"):
        StandInImageFeatureExtractor().predict(b"not an image", "image/png")


def test_text_classifier_refuses_an_image_content_type() -> None:
    with pytest.raises(InvalidModelInput, match="cannot take a image/png input"):
        StandInTextClassifier().predict(SUNSET_PNG, "image/png")


def test_every_stand_in_is_listed_under_its_own_task() -> None:
    assert {task: model.task for task, model in STAND_INS.items()} == {task: task for task in STAND_INS}
    assert set(STAND_INS) == {
        "text-classification",
        "image-classification",
        "image-feature-extraction",
        "summarization",
    }


def test_a_task_without_a_stand_in_is_an_error_naming_it_and_how_to_add_one() -> None:
    with pytest.raises(NoStandIn, match=r"HF_TASK='object-detection'.*Add one to localrun/standin_model.py"):
        stand_in_for("object-detection", "my-endpoint", "my-model")


def test_a_model_without_hf_task_is_an_error_naming_the_variable() -> None:
    with pytest.raises(NoStandIn, match=r"my-model sets no HF_TASK.*models.<name>.environment.HF_TASK"):
        stand_in_for(None, "my-endpoint", "my-model")


def test_summarizer_stand_in_answers_the_first_sentence_in_the_toolkits_shape() -> None:
    from localrun.standin_model import StandInSummarizer  # noqa: PLC0415

    body = json.dumps({"inputs": "Results are in. Everything else is detail."}).encode()
    assert StandInSummarizer().predict(body) == [{"summary_text": "Results are in."}]

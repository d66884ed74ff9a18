"""Photos and scans (JPG, PNG): Tesseract OCR through its command-line program."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from botcraft.i18n import N_
from botcraft.knowledge.child_lifetime import kill_with_parent_hook
from botcraft.knowledge.parsers.base import (
    Deadline,
    Extraction,
    ExtractionError,
    ExtractLimits,
    Passage,
    clean_text,
)

# Pillow's own bomb check is process-wide; make it at least as strict as our default limit.
# parse_image() still compares each image with the limit it is given, before decoding.
Image.MAX_IMAGE_PIXELS = ExtractLimits().max_image_pixels

_NO_TESSERACT = (
    "OCR is not available on this server: install tesseract-ocr with the Russian language pack."
)


def parse_image(path: Path, limits: ExtractLimits) -> Extraction:
    deadline = Deadline(limits.time_limit_s)
    image = load_image(path, limits)
    text = clean_text(ocr_image(image, limits.ocr_languages, deadline.remaining()))
    passages = [Passage(p, "ocr") for p in text.split("\n\n") if p]
    return Extraction(passages=passages, pages=1)


def load_image(path: Path, limits: ExtractLimits) -> Image.Image:
    """Open, refuse decompression bombs before decoding, then decode upright (EXIF)."""
    try:
        with warnings.catch_warnings():
            # Over MAX_IMAGE_PIXELS Pillow only warns; our own check below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise ExtractionError(_too_many_pixels(width, height, limits))
                image.load()
                return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError as exc:
        raise ExtractionError(_too_many_pixels(0, 0, limits)) from exc
    except (OSError, ValueError, SyntaxError) as exc:
        # Pillow reports truncated or malformed data as OSError, sometimes as the others.
        raise ExtractionError(
            "The image is damaged or incomplete. Save it again and re-upload."
        ) from exc


def ocr_image(image: Image.Image, languages: str, timeout: float) -> str:
    """Text that Tesseract reads on `image`, raw (callers clean it)."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise ExtractionError(_NO_TESSERACT)
    if timeout <= 0:
        raise ExtractionError(_too_slow())
    png = io.BytesIO()
    _flatten(image).convert("L").save(png, format="PNG", compress_level=1)
    # More OpenMP threads make Tesseract slower on page-sized images and starve other workers.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        # Fixed argv, no shell; the image goes through stdin.
        done = subprocess.run(  # noqa: S603
            [tesseract, "stdin", "stdout", "-l", languages],
            input=png.getvalue(),
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
            # Dies with the parser child, as the child dies with the server.
            preexec_fn=kill_with_parent_hook(),
        )
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError(_too_slow()) from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        if "Failed loading language" in stderr or "Error opening data file" in stderr:
            raise ExtractionError(_NO_TESSERACT)
        raise ExtractionError("Text recognition failed on this image. Try a clearer photo or scan.")
    return done.stdout.decode("utf-8", "replace")


def _flatten(image: Image.Image) -> Image.Image:
    """Put transparent images on white: transparent pixels are black once alpha is dropped."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba)
    return image


def _too_many_pixels(width: int, height: int, limits: ExtractLimits) -> str:
    megapixels = limits.max_image_pixels // 1_000_000
    if width:
        return N_("The image is too large ({width}×{height} pixels). Images up to {megapixels} megapixels are "
                  "accepted; resize it and upload it again.").format(width=width, height=height, megapixels=megapixels)
    return N_("The image is too large. Images up to {megapixels} megapixels are accepted; resize it and upload "
              "it again.").format(megapixels=megapixels)


def _too_slow() -> str:
    return N_("Reading the text on the image took too long. Upload a smaller or clearer image.")

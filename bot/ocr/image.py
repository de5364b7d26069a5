"""Image bytes in memory → a checked RGB picture, or an `ImageProblem` saying why not.

`decode(data, limits)` accepts PNG, JPEG and WebP only (recognised by their magic bytes, not
by a file name or a client's content type), refuses a file over `limits.max_bytes` (413), a
picture over `limits.max_pixels` before its pixels are decoded (413: the header alone gives
the size, so a decompression bomb is never expanded), anything else (415), and a broken or
too-small picture (422). It applies the EXIF orientation of phone photos and flattens
transparency onto white. Nothing is written to disk or logged; HEIC is not decoded (no
maintained decoder in the venv), it gets a 415 asking for a screenshot in PNG or JPEG.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@dataclass(frozen=True)
class ImageLimits:
    """How big a picture may be, in bytes and in pixels, and how small."""

    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 24_000_000  # 4000×6000; a 1440×3200 phone screen is 4.6 M
    min_side: int = 32


@dataclass
class ImageProblem(Exception):
    """Why a picture was refused: HTTP status, a stable code, a text key and its values."""

    status: int
    code: str
    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}"


def sniff(data: bytes) -> str | None:
    """ "PNG", "JPEG", "WEBP", "HEIC" from the first bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "HEIC"
    return None


def decode(data: bytes, limits: ImageLimits = ImageLimits()) -> Image.Image:
    """The picture as RGB; raises `ImageProblem` (413, 415 or 422) instead."""
    if not data:
        raise ImageProblem(422, "image_empty", "error_image_empty")
    if len(data) > limits.max_bytes:
        raise ImageProblem(
            413, "image_too_large", "error_image_too_large", {"limit_mb": _mb(limits.max_bytes)}
        )
    kind = sniff(data)
    if kind is None or kind == "HEIC":
        raise ImageProblem(415, "image_type", "error_image_type")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[kind])  # reads the header only
        width, height = img.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many(limits) from None
    except Exception:  # noqa: BLE001 - any parse failure is a broken picture
        raise ImageProblem(422, "image_broken", "error_image_broken") from None
    if width * height > limits.max_pixels:
        raise _too_many(limits)
    if min(width, height) < limits.min_side:
        raise ImageProblem(422, "image_too_small", "error_image_too_small")
    try:
        img.seek(0)  # the first frame of an animation
        img.load()
        img = ImageOps.exif_transpose(img) or img
        return _rgb(img)
    except Exception:  # noqa: BLE001 - truncated or corrupt pixel data
        raise ImageProblem(422, "image_broken", "error_image_broken") from None


def _rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "P", "PA"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g}"


def _too_many(limits: ImageLimits) -> ImageProblem:
    return ImageProblem(
        413,
        "image_too_many_pixels",
        "error_image_too_many_pixels",
        {"limit_mp": f"{limits.max_pixels / 1e6:g}"},
    )

"""Renderer v3's camera on grey cards in absolute units: the exposure programme and its
limits, the flash photograph's TTL metering, the flash-only frame, dim-light white balance."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from flashcli.synth import camera as cm
from flashcli.synth.compose import _camera_model
from flashcli.synth.render import pair_generator
from flashcli.synth.scene import CameraModel


def _model(style: str = "camera", **kw) -> CameraModel:
    phone = style == "phone"
    base = CameraModel(
        style=style, kind="photo", key=0.18, clip_share=0.02, ae_error=(0.0, 0.0),
        f_number=1.8 if phone else 4.0, iso_base=50.0 if phone else 100.0, iso_max=3200.0 if phone else 6400.0,
        iso_flash_max=800.0, shutter_max=1 / 12 if phone else 1 / 40, shutter_flash=1 / 60,
        flash_gn=1.8 if phone else 12.0, ttl=not phone, flash_ambient=0.0 if phone else 1.0,
        dim_key=0.3 if phone else 0.0, shot_noise=1e-4, read_noise=1e-7, keep_warmth=0.1,
        keep_warmth_dim=0.5 if phone else 0.2, awb_error=torch.zeros(2, 2), contrast=0.1,
        shoulder=0.0, local_contrast=0.0, denoise=0.5 if phone else 0.0, vignette=0.1, flash_beam=0.0,
    )
    return dataclasses.replace(base, **kw)


def _card(lux: float, albedo: float = 0.3) -> torch.Tensor:
    """A grey card lit by ``lux``: its luminance (cd/m²), with a little structure."""
    img = torch.full((3, 24, 32), albedo * lux / math.pi)
    img[:, :4] *= 1.5
    return img


def test_program_walks_shutter_then_iso_and_reports_the_limit():
    cam = _model("camera")
    assert cm.program(100 / 500, cam) == (pytest.approx(1 / 500), 100.0, False)  # base ISO, fast shutter
    t, iso, limited = cm.program(400 / 60, cam)
    assert t == pytest.approx(1 / 60) and iso == pytest.approx(400) and not limited
    t, iso, limited = cm.program(3200 / 40, cam)
    assert t == pytest.approx(1 / 40) and iso == pytest.approx(3200) and not limited
    assert cm.program(1e6, cam) == (pytest.approx(1 / 40), 6400.0, True)
    phone = _model("phone")
    t, iso, limited = cm.program(50 / 45, phone)
    assert t == pytest.approx(1 / 45) and iso == 50 and not limited  # phones go to 1/30 at base ISO first


def test_ambient_exposure_reaches_the_key_in_a_bright_room_not_in_a_dim_one():
    cam = _model("camera")
    bright, info_b = cm.expose_ambient(_card(300), cam, 0.0)
    assert not info_b["limited"] and info_b["iso"] <= 1600
    assert float(cm.meter(_card(300) * bright)) == pytest.approx(0.18, rel=0.02)
    dim, info_d = cm.expose_ambient(_card(5), cam, 0.0)
    assert info_d["limited"] and info_d["iso"] == 6400 and info_d["shutter"] == pytest.approx(1 / 40)
    level = float(cm.meter(_card(5) * dim))
    assert level < 0.18 / 2 and info_d["under_stops"] == pytest.approx(math.log2(0.18 / level), abs=0.05)
    # the same light twice as bright: half the exposure, while in reach
    e1, _ = cm.expose_ambient(_card(200), cam, 0.0)
    e2, _ = cm.expose_ambient(_card(400), cam, 0.0)
    assert e1 / e2 == pytest.approx(2.0, rel=1e-3)
    # phones reach further (wide aperture, long shutter) but keep dim rooms dim (a lower key)
    phone = _model("phone")
    e, info = cm.expose_ambient(_card(5), phone, 0.0)
    assert not info["limited"] and 0.03 < float(cm.meter(_card(5) * e)) < 0.15


def test_flash_photo_ttl_and_the_ambient_share():
    cam = _model("camera")
    flash = _card(1.0, 0.3) * 0.05  # flash luminous exposure per cd s: a subject about 4.5 m away
    dim_frame, dim = cm.expose_flash_photo(_card(3), flash, cam, 0.0)
    bright_frame, bright = cm.expose_flash_photo(_card(1000), flash, cam, 0.0)
    for frame in (dim_frame, bright_frame):  # TTL brings the frame to the key
        assert float(cm.meter(frame)) == pytest.approx(0.18, rel=0.05)
    assert dim["ambient_share"] < 0.1 < 0.5 < bright["ambient_share"]  # in a bright room the flash adds little
    assert all(1 / 64 <= info["flash_power"] <= 1.0 for info in (dim, bright))
    assert bright["iso"] < dim["iso"] <= cam.iso_flash_max  # a dim room: a higher ISO for the flash's reach
    assert dim["iso"] <= cam.iso_flash_max and dim["shutter"] == pytest.approx(1 / 60)
    # phones: the LED at full power, the ISO set for the whole
    phone = _model("phone")
    frame, info = cm.expose_flash_photo(_card(3), flash * 3, phone, 0.0)
    assert info["flash_power"] == 1.0 and float(cm.meter(frame)) == pytest.approx(0.18, rel=0.05)
    frame, info = cm.expose_flash_photo(_card(3), flash * 0.3, phone, 0.0)  # too far for the LED
    assert info["limited"] and info["iso"] == phone.iso_flash_max and float(cm.meter(frame)) < 0.1


def test_flash_only_frame_is_auto_exposed_with_digital_gain_past_the_iso_cap():
    phone = _model("phone")
    near = _card(1.0) * 2.0
    frame, gain, info = cm.expose_flash_only(near, phone, 0.0)
    assert float(cm.meter(frame)) == pytest.approx(0.18, rel=0.02) and gain == pytest.approx(1.0)
    far = _card(1.0) * 0.0005
    frame, gain, info = cm.expose_flash_only(far, phone, 0.0)
    assert float(cm.meter(frame)) == pytest.approx(0.18, rel=0.02)
    assert info["iso"] == phone.iso_flash_max and gain > 1 and info["limited"]


def test_dim_light_keeps_more_warmth_and_noise_reduction_only_on_phones():
    phone = _model("phone")
    assert cm.ambient_warmth(phone, 1.0) == pytest.approx(0.6)
    assert cm.ambient_warmth(phone, 8.0) == pytest.approx(0.1)
    g = torch.Generator().manual_seed(0)
    raw = torch.full((3, 32, 32), 0.05) + 0.02 * torch.randn(3, 32, 32, generator=g)
    assert float(cm.denoise(raw, phone, 3200).std()) < 0.7 * float(raw.std())
    assert torch.equal(cm.denoise(raw, dataclasses.replace(phone, denoise=0.0), 3200), raw)


def test_camera_models_follow_the_kind():
    for i in range(12):
        faid = _camera_model(pair_generator(0, i), "faid")
        assert faid.kind == "faid" and faid.style == "phone"
        photo = _camera_model(pair_generator(0, i), "photo")
        assert photo.kind == "photo"
        limits = (photo.shutter_max, photo.iso_max) if photo.style == "camera" else (faid.shutter_max, faid.iso_max)
        assert 1 / 60 - 1e-9 <= limits[0] <= 1 / 10 + 1e-9 and 1600 <= limits[1] <= 6400
    styles = {_camera_model(pair_generator(1, i), "photo").style for i in range(16)}
    assert styles == {"phone", "camera"}

import pytest
import torch

from lmc import ModelConfig, build_model


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture
def tiny_config() -> ModelConfig:
    return ModelConfig.preset("tiny")


@pytest.fixture
def tiny_model(tiny_config):
    return build_model(tiny_config)


def clip(b=2, t=10, c=1, size=32, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, c, size, size, generator=g)

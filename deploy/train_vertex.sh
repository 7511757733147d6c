#!/usr/bin/env bash
# Run one experiment on Vertex AI: a custom job whose containers run the training image.
#
#   GCP_PROJECT=my-project REPO_URL=https://github.com/me/tweet-sentiment.git \
#     deploy/train_vertex.sh [--dry-run] [dvc exp run args...]      e.g. -S lr=3e-5 -S epochs=3
#
# --dry-run prints the `gcloud ai custom-jobs create` command and the job spec, and runs nothing.
# Environment (defaults in brackets):
#   GCP_PROJECT (required)   GCP_REGION [europe-west1]
#   REPO_URL (required)      the git URL the job clones; GIT_REF [main]
#   IMAGE        [REGION-docker.pkg.dev/PROJECT/tweet-sentiment/tweet-sentiment-train:latest, or :cu128 with
#                a GPU_TYPE] (cloudbuild.yaml pushes both)
#   SERVICE_ACCOUNT [tweet-sentiment-train@PROJECT.iam.gserviceaccount.com]: the job's identity,
#                which reads and writes the DVC bucket (docs/training-at-scale.md, "Vertex AI")
#   MACHINE_TYPE [n1-standard-8]   GPU_TYPE [none; e.g. NVIDIA_TESLA_T4]   GPU_COUNT [1]
#   NODES [1]: above 1, the machines train together (DDP over torchrun's rendezvous);
#              pass -S train.processes=<GPUs per machine> too
#   EXP_NAME [train-<UTC time>]    JOB_NAME [tweet-sentiment-<EXP_NAME>]
#   SPEC_FILE [${TMPDIR:-/tmp}/<JOB_NAME>.yaml]: where the spec is written (and kept, for --config)
set -euo pipefail
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/.." && pwd)"
die() { echo "train_vertex.sh: $*" >&2; exit 1; }

DRY_RUN=0
if [[ "${1:-}" == --dry-run ]]; then DRY_RUN=1; shift; fi
[[ -n "${GCP_PROJECT:-}" ]] || die "set GCP_PROJECT to your Google Cloud project id"
[[ -n "${REPO_URL:-}" ]] || die "set REPO_URL to the git URL the job should clone"
REGION="${GCP_REGION:-europe-west1}"
TAG=latest
[[ -n "${GPU_TYPE:-}" ]] && TAG=cu128  # the CPU image would leave the GPUs idle
IMAGE="${IMAGE:-$REGION-docker.pkg.dev/$GCP_PROJECT/tweet-sentiment/tweet-sentiment-train:$TAG}"
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-tweet-sentiment-train@$GCP_PROJECT.iam.gserviceaccount.com}"
EXP_NAME="${EXP_NAME:-train-$(date -u +%Y%m%d-%H%M%S)}"
JOB_NAME="${JOB_NAME:-tweet-sentiment-$EXP_NAME}"
PYTHON="$REPO_DIR/.venv/bin/python"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"

SPEC="${SPEC_FILE:-${TMPDIR:-/tmp}/$JOB_NAME.yaml}"
gpu_args=()
[[ -n "${GPU_TYPE:-}" ]] && gpu_args=(--gpu-type "$GPU_TYPE" --gpu-count "${GPU_COUNT:-1}")
(cd "$REPO_DIR" && "$PYTHON" -m tweet_sentiment.cloud.vertex --image "$IMAGE" --repo-url "$REPO_URL" \
  --git-ref "${GIT_REF:-main}" --service-account "$SERVICE_ACCOUNT" --machine-type "${MACHINE_TYPE:-n1-standard-8}" \
  "${gpu_args[@]}" --nodes "${NODES:-1}" --exp-name "$EXP_NAME" -- "$@") >"$SPEC"

COMMAND=(gcloud ai custom-jobs create --project "$GCP_PROJECT" --region "$REGION"
         --display-name "$JOB_NAME" --config "$SPEC")
if ((DRY_RUN)); then
  printf '# the command:\n%s\n# the spec (%s):\n' "${COMMAND[*]}" "$SPEC"
  cat "$SPEC"
  exit 0
fi
command -v gcloud >/dev/null || die "gcloud is missing: install the Google Cloud CLI"
"${COMMAND[@]}"
echo "follow it: gcloud ai custom-jobs stream-logs --region $REGION <job id printed above>"
echo "then: dvc exp pull origin $EXP_NAME && dvc exp show"

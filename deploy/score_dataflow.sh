#!/usr/bin/env bash
# Score a corpus on Dataflow: the Beam pipeline of `python -m tweet_sentiment.score.beam`, with the
# served model staged to GCS.
#
#   GCP_PROJECT=my-project BUCKET=my-bucket \
#     deploy/score_dataflow.sh [--dry-run] 'gs://my-bucket/tweets/*.parquet' --out gs://my-bucket/scored [options]
#
# Inputs (files, globs, folders) and --out are gs:// URLs; the options are the scoring command's
# (--text-column, --keep, --format, --overwrite, --chunk-size, --batch-size; see docs/scoring.md).
# --dry-run prints the staging command and the pipeline command, and runs nothing.
# Environment (defaults in brackets):
#   GCP_PROJECT (required)   GCP_REGION [europe-west1]
#   BUCKET (required)        the bucket (name, no gs://) for the model, Dataflow's staging and temp files
#   MODEL_DIR [models/serving]: copied to gs://BUCKET/tweet-sentiment/models/<model version>/
#   SERVICE_ACCOUNT [tweet-sentiment-score@PROJECT.iam.gserviceaccount.com]: the workers' identity, which
#                reads the inputs and the model and writes the output (docs/scoring.md, "Dataflow")
#   MACHINE_TYPE [n2-standard-4]   MAX_WORKERS [10]   JOB_NAME [tweet-sentiment-score-<UTC time>]
set -euo pipefail
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/.." && pwd)"
die() { echo "score_dataflow.sh: $*" >&2; exit 2; }

DRY_RUN=0
if [[ "${1:-}" == --dry-run ]]; then DRY_RUN=1; shift; fi
[[ -n "${GCP_PROJECT:-}" ]] || die "set GCP_PROJECT to your Google Cloud project id"
[[ -n "${BUCKET:-}" ]] || die "set BUCKET to the bucket for the model, staging and temp files (a name, no gs://)"
[[ "$BUCKET" != gs://* ]] || die "BUCKET is a bucket name: drop the gs:// from $BUCKET"
(($# > 0)) || die "name the inputs and --out, e.g. 'gs://$BUCKET/tweets/*.csv' --out gs://$BUCKET/scored"
REGION="${GCP_REGION:-europe-west1}"
MODEL_DIR="${MODEL_DIR:-$REPO_DIR/models/serving}"
SERVICE_ACCOUNT="${SERVICE_ACCOUNT:-tweet-sentiment-score@$GCP_PROJECT.iam.gserviceaccount.com}"
JOB_NAME="${JOB_NAME:-tweet-sentiment-score-$(date -u +%Y%m%d-%H%M%S)}"
PYTHON="$REPO_DIR/.venv/bin/python"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"

[[ -f "$MODEL_DIR/config.json" ]] || die "no model at $MODEL_DIR: run 'dvc repro' (or 'dvc pull'), or set MODEL_DIR"
VERSION="$(cd "$REPO_DIR" && "$PYTHON" -c 'import sys; from pathlib import Path
from tweet_sentiment.serving.runtimes import model_version; print(model_version(Path(sys.argv[1])))' "$MODEL_DIR")"
MODEL_URL="gs://$BUCKET/tweet-sentiment/models/$VERSION"
DATAFLOW="gs://$BUCKET/tweet-sentiment/dataflow"

# The model folder, once per version (rsync copies only what differs).
STAGE=(gcloud storage rsync --recursive "$MODEL_DIR" "$MODEL_URL" --project "$GCP_PROJECT")
# Every vCPU of a Dataflow worker runs its own SDK process with its own copy of the model: one thread each.
PIPELINE=("$PYTHON" -m tweet_sentiment.score.beam "$@" --model "$MODEL_URL" --threads 1
  --runner DataflowRunner --project "$GCP_PROJECT" --region "$REGION" --job_name "$JOB_NAME"
  --service_account_email "$SERVICE_ACCOUNT" --temp_location "$DATAFLOW/temp" --staging_location "$DATAFLOW/staging"
  --setup_file "$REPO_DIR/setup.py" --requirements_file "$REPO_DIR/requirements-dataflow.txt"
  --machine_type "${MACHINE_TYPE:-n2-standard-4}" --max_num_workers "${MAX_WORKERS:-10}")

if ((DRY_RUN)); then
  printf '# model %s, staged with:\n' "$VERSION"
  printf '%q ' "${STAGE[@]}"
  printf '\n# the pipeline, run from %s:\n' "$REPO_DIR"
  printf '%q ' "${PIPELINE[@]}"
  printf '\n'
  exit 0
fi
command -v gcloud >/dev/null || die "gcloud is missing: install the Google Cloud CLI"
"$PYTHON" -c 'import apache_beam' 2>/dev/null || die "Apache Beam is missing: pip install -r requirements-beam.txt"
"${STAGE[@]}"
cd "$REPO_DIR"  # --setup_file builds the package from here
"${PIPELINE[@]}"

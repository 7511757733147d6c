#!/usr/bin/env bash
# Push the service image to Artifact Registry and deploy it on Cloud Run.
#
# Usage: scripts/deploy_cloudrun.sh [--dry-run] LOCAL_IMAGE
#   LOCAL_IMAGE  the image built by scripts/build_image.sh (or `bentoml containerize`),
#                e.g. localhost/tweet-sentiment:<version>
#   --dry-run    print the commands instead of running them
#
# Settings (environment): GCP_PROJECT (required), GCP_REGION (europe-west1),
# AR_REPOSITORY (tweet-sentiment), SERVICE (tweet-sentiment), CONTAINER_TOOL (podman|docker).
#
# Sizing, from BENCHMARKS.md (2 vCPU, loopback load):
# - --cpu 2: the service is tuned for 2 cores (two BentoML workers, each running two one-thread
#   sub-batches at once).
# - --memory 4Gi: two worker processes peaked at about 2.5 GiB RSS (shared pages counted twice)
#   under 32 concurrent clients; 4 GiB leaves room for request bursts.
# - --concurrency 32: 32 concurrent clients ran with zero 5xx; adaptive batching needs
#   concurrent requests in one instance to form batches.
# - --min-instances 1: keeps one warm instance (cold start is several seconds: Python,
#   torch and the model load); --max-instances 4 caps cost.
# - --cpu-boost speeds up cold starts; --no-cpu-throttling keeps batching threads running.
set -euo pipefail

DRY_RUN=0
if [[ "${1:-}" == "--dry-run" ]]; then DRY_RUN=1; shift; fi
[[ $# -eq 1 ]] || { echo "usage: $0 [--dry-run] LOCAL_IMAGE" >&2; exit 2; }
LOCAL_IMAGE=$1

PROJECT=${GCP_PROJECT:-}
if [[ -z "$PROJECT" ]]; then
  if [[ $DRY_RUN == 1 ]]; then PROJECT=YOUR-PROJECT; else echo "set GCP_PROJECT" >&2; exit 2; fi
fi
REGION=${GCP_REGION:-europe-west1}
REPOSITORY=${AR_REPOSITORY:-tweet-sentiment}
SERVICE=${SERVICE:-tweet-sentiment}
TOOL=${CONTAINER_TOOL:-podman}
if [[ $TOOL == podman ]]; then
  # shellcheck source=scripts/containers_env.sh
  source "$(dirname -- "${BASH_SOURCE[0]}")/containers_env.sh"  # the store build_image.sh wrote to
fi
REMOTE_IMAGE="$REGION-docker.pkg.dev/$PROJECT/$REPOSITORY/$SERVICE:${LOCAL_IMAGE##*:}"

run() {
  if [[ $DRY_RUN == 1 ]]; then printf '%q ' "$@"; printf '\n'; else "$@"; fi
}

# Artifact Registry: a Docker-format repository (once), and credentials for the push.
if [[ $DRY_RUN == 1 ]] || ! gcloud artifacts repositories describe "$REPOSITORY" \
  --project "$PROJECT" --location "$REGION" >/dev/null 2>&1; then
  run gcloud artifacts repositories create "$REPOSITORY" --project "$PROJECT" \
    --repository-format docker --location "$REGION" --description "Tweet sentiment service images"
fi
run gcloud auth configure-docker "$REGION-docker.pkg.dev" --quiet
run "$TOOL" tag "$LOCAL_IMAGE" "$REMOTE_IMAGE"
if [[ $TOOL == podman ]]; then
  # podman reads docker's credential helpers only through an explicit login.
  if [[ $DRY_RUN == 1 ]]; then
    echo "gcloud auth print-access-token | podman login -u oauth2accesstoken --password-stdin $REGION-docker.pkg.dev"
  else
    gcloud auth print-access-token | podman login -u oauth2accesstoken --password-stdin "$REGION-docker.pkg.dev"
  fi
fi
run "$TOOL" push "$REMOTE_IMAGE"

# Cloud Run sets $PORT (8080 here) and the container listens on it.
run gcloud run deploy "$SERVICE" --project "$PROJECT" --region "$REGION" \
  --image "$REMOTE_IMAGE" --port 8080 \
  --cpu 2 --memory 4Gi --concurrency 32 --min-instances 1 --max-instances 4 \
  --cpu-boost --no-cpu-throttling --timeout 60 \
  --allow-unauthenticated
run gcloud run services describe "$SERVICE" --project "$PROJECT" --region "$REGION" --format 'value(status.url)'

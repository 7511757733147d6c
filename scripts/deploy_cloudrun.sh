#!/usr/bin/env bash
# Push the service image to Artifact Registry and deploy it on Cloud Run.
#
# Usage: scripts/deploy_cloudrun.sh [--dry-run] [--public] LOCAL_IMAGE
#   LOCAL_IMAGE  the image built by scripts/build_image.sh (or `bentoml containerize`),
#                e.g. localhost/tweet-sentiment:<version>
#   --dry-run    print the commands instead of running them
#   --public     let anyone on the internet call the service (--allow-unauthenticated).
#                Without it the service is private (--no-allow-unauthenticated): callers
#                need roles/run.invoker and send an identity token, as printed at the end.
#                Either way /metrics is answered to whoever can call the service.
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

USAGE="usage: $0 [--dry-run] [--public] LOCAL_IMAGE"
DRY_RUN=0
PUBLIC=0
while [[ "${1:-}" == --* ]]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --public) PUBLIC=1 ;;
    --help) echo "$USAGE"; exit 0 ;;
    *) echo "unknown option $1; $USAGE" >&2; exit 2 ;;
  esac
  shift
done
[[ $# -eq 1 ]] || { echo "$USAGE" >&2; exit 2; }
LOCAL_IMAGE=$1
if [[ $PUBLIC == 1 ]]; then ACCESS=--allow-unauthenticated; else ACCESS=--no-allow-unauthenticated; fi

PROJECT=${GCP_PROJECT:-}
if [[ -z "$PROJECT" ]]; then
  if [[ $DRY_RUN == 1 ]]; then PROJECT=YOUR-PROJECT; else echo "set GCP_PROJECT" >&2; exit 2; fi
fi
REGION=${GCP_REGION:-europe-west1}
REPOSITORY=${AR_REPOSITORY:-tweet-sentiment}
SERVICE=${SERVICE:-tweet-sentiment}
TOOL=${CONTAINER_TOOL:-podman}
if [[ $TOOL == podman && $DRY_RUN == 0 ]]; then
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
  "$ACCESS"
if [[ $DRY_RUN == 1 ]]; then
  # shellcheck disable=SC2016  # a placeholder, printed as is
  URL='$URL'
  run gcloud run services describe "$SERVICE" --project "$PROJECT" --region "$REGION" --format 'value(status.url)'
else
  URL=$(gcloud run services describe "$SERVICE" --project "$PROJECT" --region "$REGION" --format 'value(status.url)')
  echo "$URL"
fi
BODY="-H 'Content-Type: application/json' -d '{\"tweets\": [\"great game!\"]}'"
if [[ $PUBLIC == 1 ]]; then
  echo "Public (--allow-unauthenticated): anyone can call it, /metrics included:"
  echo "  curl -s $URL/predict $BODY"
else
  echo "Private (--no-allow-unauthenticated; --public opens it): call it with an identity token,"
  echo "  curl -s -H \"Authorization: Bearer \$(gcloud auth print-identity-token)\" $URL/predict $BODY"
  echo "as an account with roles/run.invoker on the service. To let someone else call it:"
  echo "  gcloud run services add-iam-policy-binding $SERVICE --project $PROJECT --region $REGION" \
    "--member=user:someone@example.com --role=roles/run.invoker"
fi

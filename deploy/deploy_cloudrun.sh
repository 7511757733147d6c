#!/usr/bin/env bash
# Push the service image to Artifact Registry and deploy it on Cloud Run.
#
# Usage: deploy/deploy_cloudrun.sh [--dry-run] [--public] LOCAL_IMAGE
#        deploy/deploy_cloudrun.sh [--dry-run] [--public] --stage STAGE [--canary PCT | --promote-traffic | --rollback]
#   LOCAL_IMAGE  the image built by deploy/build_image.sh (or `bentoml containerize`),
#                e.g. localhost/tweet-sentiment:<version>; deployed with all traffic.
#   --stage STAGE  deploy what the model registry holds in STAGE (GTO: `gto show tweet-sentiment#STAGE`):
#                that version's Bento (`dvc artifacts get`), built into an image tagged with the version,
#                deployed as a new revision WITHOUT traffic, tagged with the version (v0.2.0 -> v0-2-0,
#                reachable at https://v0-2-0---SERVICE-...run.app), its registry version in
#                TWEET_SENTIMENT_REGISTRY_VERSION. Then:
#     --canary PCT       send PCT% of the traffic to it (gcloud run services update-traffic --to-tags)
#     --promote-traffic  send all traffic to the revision of the stage's version (no build)
#     --rollback         the same, after `python -m tweet_sentiment.release rollback --stage STAGE`
#                        has put the previous version back: traffic returns to its revision
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

USAGE="usage: $0 [--dry-run] [--public] LOCAL_IMAGE | [--dry-run] [--public] --stage STAGE [--canary PCT | --promote-traffic | --rollback]"
ARTIFACT=tweet-sentiment
DRY_RUN=0
PUBLIC=0
STAGE=""
TRAFFIC=""  # canary | all
CANARY=""
while [[ "${1:-}" == --* ]]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --public) PUBLIC=1 ;;
    --stage) STAGE=${2:?"--stage needs a stage: staging or prod"}; shift ;;
    --canary)
      CANARY=${2:-}
      [[ $CANARY =~ ^[0-9]+$ && $CANARY -ge 1 && $CANARY -le 99 ]] || { echo "--canary takes a share of traffic from 1 to 99 (percent); $USAGE" >&2; exit 2; }
      TRAFFIC=canary; shift ;;
    --promote-traffic | --rollback) TRAFFIC=all ;;
    --help) echo "$USAGE"; exit 0 ;;
    *) echo "unknown option $1; $USAGE" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n $STAGE ]]; then
  [[ $# -eq 0 ]] || { echo "--stage deploys the registry's version: give no LOCAL_IMAGE; $USAGE" >&2; exit 2; }
else
  [[ $# -eq 1 && -z $TRAFFIC ]] || { echo "$USAGE" >&2; exit 2; }
  LOCAL_IMAGE=$1
fi
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
  # shellcheck source=deploy/daemonless/containers_env.sh
  source "$(dirname -- "${BASH_SOURCE[0]}")/daemonless/containers_env.sh"  # the store build_image.sh wrote to
fi
run() {
  if [[ $DRY_RUN == 1 ]]; then printf '%q ' "$@"; printf '\n'; else "$@"; fi
}

if [[ -n $STAGE ]]; then
  # The registry says which version: GTO's tags (python -m tweet_sentiment.release promote/rollback).
  VERSION=$(gto show "$ARTIFACT#$STAGE" --version 2>/dev/null || true)
  # `v` and a SemVer version (v0.2.0, v0.2.0-rc.1, v0.2.0+build.5): what GTO tags.
  [[ $VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]*)?$ ]] ||
    { echo "no version of $ARTIFACT is in $STAGE (gto show $ARTIFACT#$STAGE): promote one first" >&2; exit 2; }
  # Cloud Run revision tags take lower-case letters, digits and hyphens (v0.2.0-rc.1 -> v0-2-0-rc-1);
  # image tags take no `+` (v0.2.0+build.5 -> v0.2.0_build.5).
  REVISION_TAG=$(tr 'A-Z.+' 'a-z--' <<<"$VERSION")
  IMAGE_TAG=${VERSION//+/_}
  echo "$STAGE holds $ARTIFACT@$VERSION (revision tag $REVISION_TAG)"
fi
if [[ -n $STAGE && $TRAFFIC == all ]]; then
  # No build: the version's revision was deployed when it was promoted.
  run gcloud run services update-traffic "$SERVICE" --project "$PROJECT" --region "$REGION" --to-tags "$REVISION_TAG=100"
  exit 0
fi
if [[ -n $STAGE ]]; then
  # That version's Bento, from the DVC remote (the artifact's path at the version's tag), into an image.
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
  run dvc artifacts get . "$ARTIFACT" --rev "$VERSION" -o "$WORK/bento.tar"
  BENTO_TAG=$(git show "$ARTIFACT@$VERSION:models/bento.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["tag"])')
  run bentoml import "$WORK/bento.tar"
  LOCAL_IMAGE="localhost/$ARTIFACT:$IMAGE_TAG"
  if [[ $TOOL == docker ]]; then
    run bentoml containerize "$BENTO_TAG" -t "$LOCAL_IMAGE"
  else
    run "$(dirname -- "${BASH_SOURCE[0]}")/build_image.sh" "$BENTO_TAG" "$LOCAL_IMAGE"
  fi
fi
REMOTE_IMAGE="$REGION-docker.pkg.dev/$PROJECT/$REPOSITORY/$SERVICE:${LOCAL_IMAGE##*:}"

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

# Cloud Run sets $PORT (8080 here) and the container listens on it. A registry version becomes a
# revision without traffic (Cloud Run refuses --no-traffic only for a service's very first deploy).
REVISION=()
if [[ -n $STAGE ]]; then
  REVISION=(--no-traffic --tag "$REVISION_TAG" --update-env-vars "TWEET_SENTIMENT_REGISTRY_VERSION=$VERSION")
fi
run gcloud run deploy "$SERVICE" --project "$PROJECT" --region "$REGION" \
  --image "$REMOTE_IMAGE" --port 8080 \
  --cpu 2 --memory 4Gi --concurrency 32 --min-instances 1 --max-instances 4 \
  --cpu-boost --no-cpu-throttling --timeout 60 \
  "$ACCESS" ${REVISION[@]+"${REVISION[@]}"}
if [[ $TRAFFIC == canary ]]; then
  run gcloud run services update-traffic "$SERVICE" --project "$PROJECT" --region "$REGION" --to-tags "$REVISION_TAG=$CANARY"
fi
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

#!/bin/sh
# One-shot MinIO setup, run by the minio-init service (minio/mc image). Idempotent.
#   1. the bucket S3_BUCKET exists (mc mb --ignore-existing), private (no anonymous access);
#   2. the apps' own access key S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY exists as a MinIO user with
#      a policy limited to that bucket, so the apps never hold the MinIO root credentials.
set -eu

: "${MINIO_ROOT_USER:?set MINIO_ROOT_USER}"
: "${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD}"
: "${S3_BUCKET:?set S3_BUCKET}"
: "${S3_ACCESS_KEY_ID:?set S3_ACCESS_KEY_ID}"
: "${S3_SECRET_ACCESS_KEY:?set S3_SECRET_ACCESS_KEY}"
MINIO_URL="${MINIO_URL:-http://minio:9000}"
POLICY="chat-platform-${S3_BUCKET}"

# Keep mc's configuration in a throwaway directory (the image's home may be read-only).
export MC_CONFIG_DIR="${TMPDIR:-/tmp}/mc-config"

i=0
until mc alias set target "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then
    echo "[minio-init] MinIO at $MINIO_URL did not accept the root credentials within 60 s" >&2
    exit 1
  fi
  sleep 1
done

mc mb --ignore-existing "target/${S3_BUCKET}"
mc anonymous set none "target/${S3_BUCKET}"

policy_file="${TMPDIR:-/tmp}/${POLICY}.json"
# Shell built-ins only (printf, case): the mc image is minimal.
printf '%s\n' \
  '{' \
  '  "Version": "2012-10-17",' \
  '  "Statement": [' \
  '    {' \
  '      "Effect": "Allow",' \
  '      "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],' \
  "      \"Resource\": [\"arn:aws:s3:::${S3_BUCKET}\"]" \
  '    },' \
  '    {' \
  '      "Effect": "Allow",' \
  '      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],' \
  "      \"Resource\": [\"arn:aws:s3:::${S3_BUCKET}/*\"]" \
  '    }' \
  '  ]' \
  '}' >"$policy_file"
mc admin policy create target "$POLICY" "$policy_file"
mc admin user add target "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
# Attaching a policy that is already attached is reported as an error by mc: check first.
info="$(mc admin user info target "$S3_ACCESS_KEY_ID")"
case "$info" in
  *"$POLICY"*) echo "[minio-init] policy $POLICY already attached to $S3_ACCESS_KEY_ID" ;;
  *) mc admin policy attach target "$POLICY" --user "$S3_ACCESS_KEY_ID" ;;
esac
echo "[minio-init] bucket ${S3_BUCKET} and user ${S3_ACCESS_KEY_ID} ready"

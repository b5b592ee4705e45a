{{/* The operator's settings (operator/distillery_operator/settings.py reads exactly these). */}}
{{- define "distillery.operatorEnv" -}}
- name: DISTILLERY_JOB_IMAGE
  value: {{ include "distillery.image" (dict "image" .Values.jobs.image "chart" .Chart) | quote }}
- name: DISTILLERY_IMAGE_PULL_POLICY
  value: {{ .Values.jobs.image.pullPolicy | quote }}
- name: DISTILLERY_JOB_SERVICE_ACCOUNT
  value: {{ .Values.jobs.serviceAccount.name | quote }}
- name: DISTILLERY_NAMESPACES
  value: {{ join "," .Values.watchNamespaces | quote }}
- name: DISTILLERY_JOB_CPU
  value: {{ .Values.jobs.resources.cpu | quote }}
- name: DISTILLERY_JOB_MEMORY
  value: {{ .Values.jobs.resources.memory | quote }}
- name: DISTILLERY_JOB_BACKOFF_LIMIT
  value: {{ .Values.jobs.backoffLimit | quote }}
- name: DISTILLERY_JOB_ACTIVE_DEADLINE_SECONDS
  value: {{ .Values.jobs.activeDeadlineSeconds | quote }}
- name: DISTILLERY_JOB_TTL_SECONDS
  value: {{ .Values.jobs.ttlSecondsAfterFinished | quote }}
- name: DISTILLERY_JOB_GRACE_SECONDS
  value: {{ .Values.jobs.terminationGracePeriodSeconds | quote }}
- name: DISTILLERY_JOB_SCRATCH_SIZE
  value: {{ .Values.jobs.scratchSize | quote }}
- name: DISTILLERY_JOB_START_TIMEOUT_SECONDS
  value: {{ .Values.jobs.startTimeoutSeconds | quote }}
- name: DISTILLERY_MAX_JOB_RECREATIONS
  value: {{ .Values.jobs.maxRecreations | quote }}
- name: DISTILLERY_HISTORY_LIMIT
  value: {{ .Values.historyLimit | quote }}
- name: DISTILLERY_RESYNC_SECONDS
  value: {{ .Values.resyncSeconds | quote }}
- name: DISTILLERY_METRICS_PORT
  value: {{ .Values.ports.metrics | quote }}
- name: DISTILLERY_LIVENESS_PORT
  value: {{ .Values.ports.health | quote }}
- name: DISTILLERY_LISTEN_ADDRESS
  value: "0.0.0.0"
- name: DISTILLERY_PEERING
  value: {{ ternary .Values.peering.name "none" .Values.peering.enabled | quote }}
{{- with .Values.storage.endpoint }}
- name: DISTILLERY_JOB_ENV_AWS_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.storage.region }}
- name: DISTILLERY_JOB_ENV_AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- range $name, $value := .Values.jobs.env }}
- name: {{ printf "DISTILLERY_JOB_ENV_%s" $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The chart's name, or nameOverride. */}}
{{- define "spillway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, used for every object. */}}
{{- define "spillway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "spillway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "spillway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "spillway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spillway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "spillway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "spillway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The most replicas this release may run. */}}
{{- define "spillway.maxReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.maxReplicas | int }}{{ else }}{{ .Values.replicaCount | int }}{{ end }}
{{- end }}

{{/* terminationGracePeriodSeconds: preStop sleep + shutdown grace + the usage flush. */}}
{{- define "spillway.terminationGrace" -}}
{{- $min := add (.Values.preStopSleepSeconds | int) (.Values.shutdownGraceSeconds | int) }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $min 30 }}
{{- else }}
{{- $set := .Values.terminationGracePeriodSeconds | int }}
{{- if le $set $min }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be longer than preStopSleepSeconds + shutdownGraceSeconds (%d): Kubernetes kills the pod then, cutting the streams the gateway is still letting finish" $set $min) }}
{{- end }}
{{- $set }}
{{- end }}
{{- end }}

{{/*
spillway.validate refuses value sets that render but cannot work. Every
message names the value to change and why.
*/}}
{{- define "spillway.validate" -}}
{{- $cfg := .Values.config | default dict }}
{{- $storeURL := .Values.store.url | default ($cfg.store | default "") | toString }}
{{- $postgres := or .Values.store.secretRef.name (hasPrefix "postgres" $storeURL) }}
{{- $redis := or .Values.redis.url .Values.redis.secretRef.name ($cfg.redis | default "") }}
{{- $replicas := include "spillway.maxReplicas" . | int }}
{{- if gt $replicas 1 }}
{{- if not $postgres }}
{{- fail (printf "%d replicas need a PostgreSQL store: set store.secretRef (a Secret holding postgres://…) or store.url. With the default SQLite store every replica would keep its own deployments, keys and usage in its own pod; run one replica for that." $replicas) }}
{{- end }}
{{- if not $redis }}
{{- fail (printf "%d replicas need Redis: set redis.secretRef (a Secret holding redis://…) or redis.url. Without it each replica counts rate limits, daily caps and cooldowns alone, so a key with rpm 60 would get 60 per replica." $replicas) }}
{{- end }}
{{- if .Values.persistence.enabled }}
{{- fail "persistence is for a single replica's SQLite database: with several replicas the store is PostgreSQL; set persistence.enabled=false" }}
{{- end }}
{{- end }}
{{- if and (not .Values.existingConfigMap) (hasKey ($cfg.limits | default dict) "shutdown_grace") }}
{{- fail "set shutdownGraceSeconds rather than config.limits.shutdown_grace: the chart derives the pod's terminationGracePeriodSeconds from it" }}
{{- end }}
{{- if hasKey $cfg "listen" }}
{{- fail "set port rather than config.listen: the chart sets the listen address (SPILLWAY_LISTEN) to match the container port and probes" }}
{{- end }}
{{- if and .Values.store.url .Values.store.secretRef.name }}
{{- fail "set store.url or store.secretRef.name, not both" }}
{{- end }}
{{- if and .Values.redis.url .Values.redis.secretRef.name }}
{{- fail "set redis.url or redis.secretRef.name, not both" }}
{{- end }}
{{- end }}

{{/* The rendered spillway.yaml: config plus what the chart owns. */}}
{{- define "spillway.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $limits := deepCopy ($cfg.limits | default dict) }}
{{- $_ := set $limits "shutdown_grace" (printf "%ds" (.Values.shutdownGraceSeconds | int)) }}
{{- $_ := set $cfg "limits" $limits }}
{{- toYaml $cfg }}
{{- end }}

{{/* An environment variable from a value, or from a Secret's key. */}}
{{- define "spillway.envVar" -}}
{{- $ref := .ref }}
{{- if .value }}
- name: {{ .name }}
  value: {{ .value | quote }}
{{- else if $ref.secretRef.name }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.secretRef.name }}
      key: {{ $ref.secretRef.key }}
{{- end }}
{{- end }}

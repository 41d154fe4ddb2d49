{{/*
Names and labels. The app is called by its release name: app.name is nameOverride or the release
name, and app.fullname is fullnameOverride, the release name, or <release>-<nameOverride>.
*/}}

{{- define "app.name" -}}
{{- default .Release.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "app.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
<fullname>-<suffix>, cutting fullname (not the suffix) so the whole stays within 63 characters.
Usage: include "app.suffixedName" (list . "preview")
*/}}
{{- define "app.suffixedName" -}}
{{- $root := index . 0 }}
{{- $suffix := index . 1 }}
{{- $base := include "app.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" }}
{{- printf "%s-%s" $base $suffix }}
{{- end }}

{{- define "app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The version label: the image tag, else the chart's appVersion, as a valid label value. */}}
{{- define "app.version" -}}
{{- $version := default .Chart.AppVersion .Values.image.tag | trunc 63 }}
{{- regexReplaceAll "[^A-Za-z0-9]+$" $version "" }}
{{- end }}

{{/* Selector labels: never change between releases, as Rollout selectors are immutable. */}}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "app.labels" -}}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ include "app.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "app.chart" . }}
rollway.io/app: {{ include "app.name" . }}
{{- end }}

{{/*
Pod labels: podLabels plus the chart's own, which win so the selector always matches. Not
helm.sh/chart or managed-by: a change to the pod template starts a release, and a chart bump
alone should not.
*/}}
{{- define "app.podLabels" -}}
{{- $own := include "app.selectorLabels" . | fromYaml }}
{{- $_ := set $own "app.kubernetes.io/version" (include "app.version" .) }}
{{- $_ := set $own "rollway.io/app" (include "app.name" .) }}
{{- merge $own .Values.podLabels | toYaml }}
{{- end }}

{{/* The image reference: <repository>@<digest> when a digest is set, else <repository>:<tag>. */}}
{{- define "app.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The Services of the chosen strategy as a YAML list of {name, role}. <fullname> is always first:
the active (bluegreen), stable (canary) or only (rolling) Service.
*/}}
{{- define "app.services" -}}
{{- $fullname := include "app.fullname" . }}
{{- if eq .Values.strategy "bluegreen" }}
- {name: {{ $fullname }}, role: active}
- {name: {{ include "app.suffixedName" (list . "preview") }}, role: preview}
{{- else if and (eq .Values.strategy "canary") (include "app.podCountCanary" .) }}
- {name: {{ $fullname }}, role: all}
- {name: {{ include "app.suffixedName" (list . "stable") }}, role: stable}
- {name: {{ include "app.suffixedName" (list . "canary") }}, role: canary}
{{- else if and (eq .Values.strategy "canary") (not (include "app.istioSubsets" .)) }}
- {name: {{ $fullname }}, role: stable}
- {name: {{ include "app.suffixedName" (list . "canary") }}, role: canary}
{{- else }}
- {name: {{ $fullname }}, role: all}
{{- end }}
{{- end }}

{{/* Non-empty when no router splits canary traffic: the replica count does, so the Service
clients use must select both versions (the controller pins only <name>-stable and -canary). */}}
{{- define "app.podCountCanary" -}}
{{- if not .Values.canary.trafficRouting.provider }}true{{ end }}
{{- end }}

{{/* Non-empty when canary traffic is split by Istio DestinationRule subsets. */}}
{{- define "app.istioSubsets" -}}
{{- $tr := .Values.canary.trafficRouting }}
{{- if and (eq $tr.provider "istio") $tr.istio.destinationRule.name }}true{{ end }}
{{- end }}

{{/* An int-or-string value: percentages quoted, counts as integers (never "1"). */}}
{{- define "app.intOrString" -}}
{{- if kindIs "string" . }}{{ quote . }}{{ else }}{{ int64 . }}{{ end }}
{{- end }}

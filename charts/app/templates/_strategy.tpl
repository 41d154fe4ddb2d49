{{/*
The Rollout's spec.strategy for .Values.strategy. `rolling` is Argo Rollouts' canary strategy
without steps, which the controller runs as a plain rolling update.
*/}}
{{- define "app.strategy" -}}
{{- if eq .Values.strategy "bluegreen" }}
{{- $bg := .Values.bluegreen }}
blueGreen:
  activeService: {{ include "app.fullname" . }}
  previewService: {{ include "app.suffixedName" (list . "preview") }}
  autoPromotionEnabled: {{ $bg.autoPromotionEnabled }}
  {{- if $bg.autoPromotionSeconds }}
  autoPromotionSeconds: {{ $bg.autoPromotionSeconds }}
  {{- end }}
  scaleDownDelaySeconds: {{ $bg.scaleDownDelaySeconds }}
  {{- if $bg.previewReplicaCount }}
  previewReplicaCount: {{ $bg.previewReplicaCount }}
  {{- end }}
  {{- with $bg.prePromotionAnalysis }}
  prePromotionAnalysis: {{- include "app.analysis" (list $ .) | nindent 4 }}
  {{- end }}
  {{- with $bg.postPromotionAnalysis }}
  postPromotionAnalysis: {{- include "app.analysis" (list $ .) | nindent 4 }}
  {{- end }}
{{- else if eq .Values.strategy "canary" }}
{{- $c := .Values.canary }}
canary:
  {{- if not (include "app.istioSubsets" .) }}
  {{- if include "app.podCountCanary" . }}
  stableService: {{ include "app.suffixedName" (list . "stable") }}
  {{- else }}
  stableService: {{ include "app.fullname" . }}
  {{- end }}
  canaryService: {{ include "app.suffixedName" (list . "canary") }}
  {{- end }}
  maxSurge: {{ include "app.intOrString" $c.maxSurge }}
  maxUnavailable: {{ include "app.intOrString" $c.maxUnavailable }}
  {{- with $c.steps }}
  steps: {{- include "app.canarySteps" (list $ .) | trim | nindent 4 }}
  {{- end }}
  {{- with include "app.trafficRouting" . }}
  trafficRouting: {{- trim . | nindent 4 }}
  {{- end }}
{{- else }}
canary:
  maxSurge: {{ include "app.intOrString" .Values.rolling.maxSurge }}
  maxUnavailable: {{ include "app.intOrString" .Values.rolling.maxUnavailable }}
{{- end }}
{{- end }}

{{/* Canary steps as given, with analysis template names resolved. (list root steps) */}}
{{- define "app.canarySteps" -}}
{{- $root := index . 0 }}
{{- range index . 1 }}
{{- if hasKey . "analysis" }}
- analysis: {{- include "app.analysis" (list $root .analysis) | nindent 4 }}
{{- else }}
- {{ toYaml . | nindent 2 | trim }}
{{- end }}
{{- end }}
{{- end }}

{{- define "app.trafficRouting" -}}
{{- $tr := .Values.canary.trafficRouting }}
{{- if eq $tr.provider "nginx" }}
nginx:
  stableIngress: {{ default (include "app.fullname" .) $tr.nginx.stableIngress }}
  {{- with $tr.nginx.additionalIngressAnnotations }}
  additionalIngressAnnotations: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- else if eq $tr.provider "istio" }}
istio:
  virtualService: {{- toYaml $tr.istio.virtualService | nindent 4 }}
  {{- if include "app.istioSubsets" . }}
  destinationRule: {{- toYaml $tr.istio.destinationRule | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/*
An analysis reference (templates + args) with every templateName that names one of
.Values.analysisTemplates turned into that object's name, <fullname>-<name>. Other names refer
to templates managed outside this release and pass through. (list root analysis)
*/}}
{{- define "app.analysis" -}}
{{- $root := index . 0 }}
{{- $ref := deepCopy (index . 1) }}
{{- $local := list }}
{{- range $root.Values.analysisTemplates }}
{{- $local = append $local .name }}
{{- end }}
{{- $templates := list }}
{{- range $ref.templates }}
{{- $t := deepCopy . }}
{{- if and (not .clusterScope) (has .templateName $local) }}
{{- $_ := set $t "templateName" (include "app.analysisTemplateName" (list $root .templateName)) }}
{{- end }}
{{- $templates = append $templates $t }}
{{- end }}
{{- $_ := set $ref "templates" $templates }}
{{- toYaml $ref }}
{{- end }}

{{/* Name of the AnalysisTemplate object made from analysisTemplates[].name. (list root name) */}}
{{- define "app.analysisTemplateName" -}}
{{- printf "%s-%s" (include "app.fullname" (index . 0)) (index . 1) }}
{{- end }}

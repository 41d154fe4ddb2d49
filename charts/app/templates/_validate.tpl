{{/*
Checks values.schema.json cannot express (rules across values, or across list items). Each
failure names the value path and says how to fix it. Included once, from rollout.yaml.
*/}}
{{- define "app.validate" -}}
{{- $v := .Values }}
{{- if eq $v.strategy "bluegreen" }}
{{- if and $v.bluegreen.autoPromotionSeconds (not $v.bluegreen.autoPromotionEnabled) }}
{{- fail "bluegreen.autoPromotionSeconds only works with bluegreen.autoPromotionEnabled: true (Argo Rollouts ignores it otherwise); set both or neither" }}
{{- end }}
{{- else if eq $v.strategy "canary" }}
{{- include "app.validateWeights" $v.canary.steps }}
{{- include "app.validateSurge" (list "canary" $v.canary) }}
{{- include "app.validateTrafficRouting" . }}
{{- else }}
{{- include "app.validateSurge" (list "rolling" $v.rolling) }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail (printf "autoscaling.minReplicas (%d) is greater than autoscaling.maxReplicas (%d)" (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- end }}
{{- if $v.podDisruptionBudget.enabled }}
{{- $pdb := $v.podDisruptionBudget }}
{{- if not (or (kindIs "invalid" $pdb.minAvailable) (kindIs "invalid" $pdb.maxUnavailable)) }}
{{- fail "podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable are both set: a PodDisruptionBudget takes one of them" }}
{{- end }}
{{- end }}
{{- $seen := dict }}
{{- range $i, $t := $v.analysisTemplates }}
{{- if hasKey $seen $t.name }}
{{- fail (printf "analysisTemplates[%d].name %q is already used by analysisTemplates[%d]; names must be unique" $i $t.name (get $seen $t.name)) }}
{{- end }}
{{- $_ := set $seen $t.name $i }}
{{- end }}
{{- end }}

{{/* The canary's share only grows: a setWeight lower than an earlier one is a mistake. */}}
{{- define "app.validateWeights" -}}
{{- $prev := -1 }}
{{- $prevAt := -1 }}
{{- range $i, $step := . }}
{{- if hasKey $step "setWeight" }}
{{- $w := int $step.setWeight }}
{{- if lt $w $prev }}
{{- fail (printf "canary.steps[%d].setWeight is %d, lower than canary.steps[%d].setWeight (%d): weights must not decrease" $i $w $prevAt $prev) }}
{{- end }}
{{- $prev = $w }}
{{- $prevAt = $i }}
{{- end }}
{{- end }}
{{- end }}

{{/* With no surge and no unavailability allowed the update could never start. (list path block) */}}
{{- define "app.validateSurge" -}}
{{- $path := index . 0 }}
{{- $block := index . 1 }}
{{- $zero := "^0+%?$" }}
{{- if and (regexMatch $zero (toString $block.maxSurge)) (regexMatch $zero (toString $block.maxUnavailable)) }}
{{- fail (printf "%s.maxSurge and %s.maxUnavailable are both 0: the update could never replace a pod; raise one of them" $path $path) }}
{{- end }}
{{- end }}

{{- define "app.validateTrafficRouting" -}}
{{- $tr := .Values.canary.trafficRouting }}
{{- if and (eq $tr.provider "nginx") (not $tr.nginx.stableIngress) (not .Values.ingress.enabled) }}
{{- fail "canary.trafficRouting.provider is nginx but canary.trafficRouting.nginx.stableIngress is empty and ingress.enabled is false: enable the chart's Ingress or name an existing one" }}
{{- end }}
{{- if and (eq $tr.provider "istio") (not $tr.istio.virtualService.name) }}
{{- fail "canary.trafficRouting.istio.virtualService.name is required when canary.trafficRouting.provider is istio" }}
{{- end }}
{{- end }}

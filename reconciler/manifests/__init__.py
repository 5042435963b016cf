"""Manifests: the project file and DeploymentSets, loaded and checked with no platform."""

"""Student mode (``python -m tools student ...``): every module an exercise.

``regions`` reads the solution regions marked in the reference source, ``workspace`` writes a
student's copy with each region stubbed (``start``), ``grade`` runs the module's own tests
against it (``test``), ``progress`` shows where the student stands and runs milestones on the
student's own code. docs/student.md is the convention, the report schema and a walk-through.
"""

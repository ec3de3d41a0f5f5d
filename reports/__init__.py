"""SKM reports: periods, the report model and builder, its JSON/CSV/XLSX/PDF writers, charts,
paper-questionnaire import and counter posters. The IKM arithmetic itself is
``survey_flows.ikm``; all SQL is ``storage.reports``."""

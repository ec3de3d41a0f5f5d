"""survey_flows package."""

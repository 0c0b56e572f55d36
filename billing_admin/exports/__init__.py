"""Files people open in a spreadsheet: CSV and .xlsx, written the same way for every area that
exports rows (a plan's subscribers, every plan's subscribers, the audit log).

Below the areas that use it: it knows columns and values, never a model (issue 16, "Exports
people open in Excel"). ``cells.py`` holds the rules for one value (formulas neutralised, times
in the admin's time zone), ``csv_file.py`` and ``xlsx_file.py`` write a whole table, and
``responses.py`` sends either as a download.
"""
